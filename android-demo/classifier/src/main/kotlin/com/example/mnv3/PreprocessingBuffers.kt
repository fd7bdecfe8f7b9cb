package com.example.mnv3

/**
 * The arrays preprocessing works in, kept from one call to the next: a camera stream at 30 fps
 * that got a frame's worth of new arrays per call (0.9 to 2.7 MB at 640×480 to 1280×720, bitmap
 * or camera frame) would keep the garbage collector running. The first call sizes them; later calls with frames no
 * larger allocate nothing proportional to the frame. They grow to the largest frame seen and stay
 * that size while the classifier lives.
 *
 * Not thread-safe: one preprocessing call at a time (its bands of rows and its two camera-plane
 * halves each have their own arrays here). The classifier keeps one set per thread classifying at
 * the same time. The bytes a call returns are [rgb]'s array, overwritten by the next call.
 */
internal class PreprocessingBuffers {
    /** The pixels a [PixelSource] is read into (bitmap path), the whole window the filter reaches. */
    val window = ReusedInts()

    /** The horizontal pass's rows (bitmap path). */
    val rows = ReusedBytes()

    /** The filter's coefficients (bitmap path), recomputed only when the image's size or crop changes. */
    val horizontal = CoefficientsCache()
    val vertical = CoefficientsCache()

    /** The camera path's luma plane, and its two chroma planes, which are resized at the same time. */
    val luma = PlaneBuffers()
    val chroma = PlaneBuffers()

    /** The bitmap path's bands of rows. */
    val bands = Bands()

    private var rgb = ByteArray(0)

    /** The output, exactly `size * size * 3` bytes. */
    fun rgb(size: Int): ByteArray {
        if (rgb.size != size * size * 3) rgb = ByteArray(size * size * 3)
        return rgb
    }
}

/** The arrays of each band of rows a pass is split into (see `ImagePreprocessing.inBands`). */
internal class Bands {
    private val bands = ArrayList<BandBuffers>()

    /** The arrays of bands `0 until count`, made here, on the calling thread, before the bands start. */
    fun first(count: Int): List<BandBuffers> {
        while (bands.size < count) bands.add(BandBuffers())
        return bands
    }
}

/** One band of rows' own arrays: bands run at the same time on different threads. */
internal class BandBuffers {
    val pixels = ReusedInts()
    val redBlue = ReusedInts()
    val greenShifted = ReusedInts()
    val red = ReusedInts()
    val green = ReusedInts()
    val blue = ReusedInts()
    val averages = ReusedInts()
    val sums = ReusedInts()
}

/** The arrays of one resize in the camera path (the luma plane, or both chroma planes together). */
internal class PlaneBuffers {
    /** Each plane's block averages, for large reductions. */
    val reduced = listOf(ReusedBytes(), ReusedBytes())
    val row = ReusedBytes()
    val sums = ReusedInts()

    /** An interleaved plane's row before every pixelStride-th byte is picked out. */
    val span = ReusedBytes()

    /** The rows the filter reaches, the vertical pass's output and the horizontal pass's. */
    val region = ReusedBytes()
    val columns = ReusedBytes()
    val resized = ReusedBytes()
    val horizontal = CoefficientsCache()
    val vertical = CoefficientsCache()

    /** For the vertical pass, which runs in one piece here. */
    val bands = Bands()
}

/** An int array kept while it is large enough; its contents are whatever the last user left. */
internal class ReusedInts {
    private var array = IntArray(0)

    /** An array of at least [count] ints: this one, or a larger one that replaces it. */
    fun atLeast(count: Int): IntArray {
        if (array.size < count) array = IntArray(count)
        return array
    }
}

/** A byte array kept while it is large enough; its contents are whatever the last user left. */
internal class ReusedBytes {
    private var array = ByteArray(0)

    /** An array of at least [count] bytes: this one, or a larger one that replaces it. */
    fun atLeast(count: Int): ByteArray {
        if (array.size < count) array = ByteArray(count)
        return array
    }
}

/**
 * The filter's coefficients for the last box asked for: the frames of a stream have one size and
 * crop, so they are computed once, not for every frame.
 */
internal class CoefficientsCache {
    private var coefficients: ImagePreprocessing.Coefficients? = null
    private var inSize = 0
    private var boxStart = 0.0
    private var boxEnd = 0.0

    fun of(inSize: Int, boxStart: Double, boxEnd: Double, outSize: Int): ImagePreprocessing.Coefficients {
        val last = coefficients
        if (last != null && inSize == this.inSize && boxStart == this.boxStart && boxEnd == this.boxEnd && outSize == last.starts.size) {
            return last
        }
        return ImagePreprocessing.Coefficients.compute(inSize, boxStart, boxEnd, outSize).also {
            coefficients = it
            this.inSize = inSize
            this.boxStart = boxStart
            this.boxEnd = boxEnd
        }
    }
}

package com.example.mnv3

import java.nio.ByteBuffer
import java.util.concurrent.Callable
import java.util.concurrent.ForkJoinTask
import kotlin.math.ceil

/**
 * One plane of a YUV_420_888 frame, as `android.media.Image.Plane` describes it: sample (x, y) is
 * `buffer.get(y * rowStride + x * pixelStride)`, indexed from 0 whatever the buffer's position.
 * Interleaved chroma (NV21-like) has `pixelStride` 2, planar (I420-like) 1; `rowStride` may be
 * wider than a row, and the buffer may end right after the last sample, as the camera's do.
 */
class YuvPlane(val buffer: ByteBuffer, val rowStride: Int, val pixelStride: Int) {
    init {
        require(rowStride >= 1 && pixelStride >= 1) { "strides must be positive, got $rowStride and $pixelStride" }
    }

    /** This plane from sample ([x], [y]) on: its buffer sliced there, the same strides. */
    internal fun from(x: Int, y: Int): YuvPlane {
        val view = buffer.duplicate()
        view.position(0)
        view.position(y * rowStride + x * pixelStride)
        return YuvPlane(view.slice(), rowStride, pixelStride)
    }

    internal fun checkHolds(width: Int, height: Int, name: String) {
        require(rowStride >= (width - 1) * pixelStride + 1) {
            "$name plane: row stride $rowStride is shorter than a row of $width samples"
        }
        val needed = (height - 1).toLong() * rowStride + (width - 1).toLong() * pixelStride + 1
        require(buffer.limit() >= needed) {
            "$name plane holds ${buffer.limit()} bytes, $width×$height samples need $needed"
        }
    }
}

/**
 * A camera frame in YUV_420_888 (Camera2's `ImageReader`, CameraX's `ImageProxy`): a full-size luma
 * plane [y] and chroma planes [u] (Cb) and [v] (Cr) of `ceil(width / 2)` × `ceil(height / 2)`
 * samples, in the sensor's orientation ([width] × [height]). [rotationDegrees] is the clockwise
 * rotation that makes it upright (CameraX's `imageInfo.rotationDegrees`; with Camera2, computed
 * from the sensor orientation and the display rotation).
 *
 * The frame only borrows the buffers: they must stay valid (the `Image` open) while it is classified.
 *
 * Preprocessing (the camera-frame contract, which mnv3-sdk's Python reference shares): the central
 * square of the upright frame is found, and each plane's part of it is resized to the model's
 * input size on its own (chroma from the same box halved); the three small planes are rotated
 * upright and converted to RGB as full-range BT.601 (JFIF, the colour space of camera JPEGs),
 * with Pillow's integer arithmetic. Resizing before converting filters one full-size plane and two
 * quarter-size ones instead of three full-size channels and converts only the output's pixels;
 * it differs from building an RGB frame first by rounding only.
 */
class YuvFrame @JvmOverloads constructor(
    val width: Int,
    val height: Int,
    val y: YuvPlane,
    val u: YuvPlane,
    val v: YuvPlane,
    val rotationDegrees: Int = 0,
) {
    init {
        require(width >= 1 && height >= 1) { "frame must be at least 1×1, got ${width}×$height" }
        require(rotationDegrees == 0 || rotationDegrees == 90 || rotationDegrees == 180 || rotationDegrees == 270) {
            "rotationDegrees must be 0, 90, 180 or 270, got $rotationDegrees"
        }
        y.checkHolds(width, height, "Y")
        u.checkHolds(chromaWidth, chromaHeight, "U")
        v.checkHolds(chromaWidth, chromaHeight, "V")
    }

    internal val chromaWidth: Int get() = (width + 1) / 2
    internal val chromaHeight: Int get() = (height + 1) / 2

    /** The width of the upright image: [height] when the frame is rotated by 90 or 270 degrees. */
    val uprightWidth: Int get() = if (rotationDegrees % 180 == 0) width else height

    /** The height of the upright image: [width] when the frame is rotated by 90 or 270 degrees. */
    val uprightHeight: Int get() = if (rotationDegrees % 180 == 0) height else width

    /**
     * The part of this frame from [left], [top] (inclusive) to [right], [bottom] (exclusive), in
     * the sensor's orientation, as a frame of its own over the same buffers (no copy): what
     * `Image.getCropRect()` and CameraX's `ImageProxy.getCropRect()` say is the image (digital zoom,
     * and sensors whose buffers are larger than the picture). A chroma sample covers a 2×2 block of
     * luma, so an odd [left] or [top] is moved one pixel out, to the block's edge: the region then
     * holds one column or row more than asked, never a pixel less.
     *
     * @throws IllegalArgumentException if the rectangle is empty or not inside the frame.
     */
    fun cropped(left: Int, top: Int, right: Int, bottom: Int): YuvFrame {
        require(left in 0 until right && right <= width && top in 0 until bottom && bottom <= height) {
            "crop ($left, $top, $right, $bottom) is not a non-empty part of the ${width}×$height frame"
        }
        if (left == 0 && top == 0 && right == width && bottom == height) return this
        val x = left and 1.inv()
        val y = top and 1.inv()
        return YuvFrame(
            right - x, bottom - y,
            this.y.from(x, y), u.from(x / 2, y / 2), v.from(x / 2, y / 2),
            rotationDegrees,
        )
    }
}

/** The camera-frame contract's steps (see [YuvFrame]); byte-identical to `mnv3_sdk.imaging.camera`. */
internal object YuvPreprocessing {
    private const val FIXED_BITS = 6

    // Pillow's YCbCr → RGB tables (libImaging/ConvertYCbCr.c), which are trunc((i − 128) × c × 64 + 0.5).
    private val redCr = table(1.402)
    private val greenCb = table(-0.34414)
    private val greenCr = table(-0.71414)
    private val blueCb = table(1.772)

    private fun table(coefficient: Double) = IntArray(256) { ((it - 128) * coefficient * 64 + 0.5).toInt() }

    // Clamping to 0..255 by lookup, at [value + CLAMP_OFFSET]: Y plus a chroma term lies within
    // -227..480, and compare-and-branch clamps mispredict on noisy chroma (3× slower, measured).
    private const val CLAMP_OFFSET = 384
    private val clamped = ByteArray(1024) { (it - CLAMP_OFFSET).coerceIn(0, 255).toByte() }

    fun preprocess(frame: YuvFrame, size: Int, cropFraction: Double, buffers: PreprocessingBuffers): ByteArray {
        val box = ImagePreprocessing.centerCropBox(frame.uprightWidth, frame.uprightHeight, cropFraction)
        val side = box.side
        // Upright pixel (u, v) is sensor pixel (v, H-1-u) at 90°, (W-1-u, H-1-v) at 180°, (W-1-v, u) at 270°.
        val left = when (frame.rotationDegrees) {
            0 -> box.left
            90 -> box.top
            180 -> frame.width - box.left - side
            else -> frame.width - box.top - side
        }
        val top = when (frame.rotationDegrees) {
            0 -> box.top
            90 -> frame.height - box.left - side
            180 -> frame.height - box.top - side
            else -> box.left
        }
        val right = (left + side).toDouble()
        val bottom = (top + side).toDouble()
        // Two halves of about the same work, chroma (both planes in one pass: same box, same
        // weights) on the common pool while this thread does luma, then the conversion in two
        // halves likewise. Each half runs in one piece: bands within a half would queue behind
        // the other half on a 2-core phone's one-thread pool, and wait for it.
        val chroma = ForkJoinTask.adapt(Callable {
            // A chroma sample covers a 2×2 block of luma, so the chroma box is the luma box halved.
            val planes = listOf(Samples(frame.u, frame.chromaWidth, frame.chromaHeight), Samples(frame.v, frame.chromaWidth, frame.chromaHeight))
            resize(planes, left / 2.0, top / 2.0, right / 2.0, bottom / 2.0, size, buffers.chroma)
        }).fork()
        val luma = resize(
            listOf(Samples(frame.y, frame.width, frame.height)), left.toDouble(), top.toDouble(), right, bottom, size, buffers.luma,
        )
        val chromaRows = chroma.join()
        val out = buffers.rgb(size)
        val upper = ForkJoinTask.adapt { toUprightRgb(luma, chromaRows, size, frame.rotationDegrees, out, 0, size / 2) }.fork()
        toUprightRgb(luma, chromaRows, size, frame.rotationDegrees, out, size / 2, size)
        upper.join()
        return out
    }

    /**
     * Converts rows [from, to) of the size×size planes to RGB bytes (HWC) at their upright places in
     * [out]: [luma] holds rows of `size` bytes, [chroma] rows of Cb then Cr, `2 * size` bytes.
     */
    internal fun toUprightRgb(luma: ByteArray, chroma: ByteArray, size: Int, rotation: Int, out: ByteArray, from: Int, to: Int) {
        // Reads in the planes' order whatever the rotation, and writes each pixel to its upright place.
        for (row in from until to) {
            // Where sensor pixel (0, row) goes in the upright image, and the step to pixel (x + 1, row).
            val (first, step) = when (rotation) {
                0 -> row * size to 1
                90 -> size - 1 - row to size
                180 -> (size - 1 - row) * size + size - 1 to -1
                else -> (size - 1) * size + row to -size
            }
            var target = 3 * first
            val targetStep = 3 * step
            val lumaRow = row * size
            val chromaRow = row * 2 * size
            for (x in 0 until size) {
                val y = (luma[lumaRow + x].toInt() and 0xFF) + CLAMP_OFFSET
                val cb = chroma[chromaRow + x].toInt() and 0xFF
                val cr = chroma[chromaRow + size + x].toInt() and 0xFF
                out[target] = clamped[y + (redCr[cr] shr FIXED_BITS)]
                out[target + 1] = clamped[y + ((greenCb[cb] + greenCr[cr]) shr FIXED_BITS)]
                out[target + 2] = clamped[y + (blueCb[cb] shr FIXED_BITS)]
                target += targetStep
            }
        }
    }

    /**
     * Resizes the same square box (left, top, right, bottom), fractional or not, of one or two
     * planes to size×size with the two stages of the preprocessing contract: `factor`×`factor`
     * block averages when the box is at least 4× the output, then the triangle filter, horizontal
     * first. Returns rows of `planes.size * size` bytes: each plane's row side by side, in an array
     * of [buffers] that may be longer.
     */
    private fun resize(
        planes: List<Samples>, left: Double, top: Double, right: Double, bottom: Double, size: Int, buffers: PlaneBuffers,
    ): ByteArray {
        val factor = maxOf(1, ((right - left) / size / ImagePreprocessing.REDUCING_GAP).toInt())
        if (factor == 1) return resample(planes, left, top, right, bottom, size, buffers)
        // The box plus the filter's reach (half an output pixel each side), as Pillow's _get_safe_box.
        val support = 0.5 * ((right - left) / size)
        val first = planes[0]
        val regionLeft = maxOf(0, (left - support).toInt())
        val regionTop = maxOf(0, (top - support).toInt())
        val regionRight = minOf(first.width, ceil(right + support).toInt())
        val regionBottom = minOf(first.height, ceil(bottom + support).toInt())
        val reduced = planes.mapIndexed { index, plane ->
            reduceBlocks(plane, regionLeft, regionTop, regionRight, regionBottom, factor, buffers.reduced[index], buffers)
        }
        return resample(
            reduced,
            (left - regionLeft) / factor, (top - regionTop) / factor,
            (right - regionLeft) / factor, (bottom - regionTop) / factor,
            size, buffers,
        )
    }

    /**
     * Pillow's `reduce` of one 8-bit plane: rounded means of `factor`×`factor` blocks (partial at
     * the edges), into [reduced].
     */
    private fun reduceBlocks(
        samples: Samples, left: Int, top: Int, right: Int, bottom: Int, factor: Int, reduced: ReusedBytes, buffers: PlaneBuffers,
    ): Samples {
        val regionWidth = right - left
        val outWidth = (regionWidth + factor - 1) / factor
        val outHeight = (bottom - top + factor - 1) / factor
        val out = reduced.atLeast(outWidth * outHeight)
        val fullMultiplier = ImagePreprocessing.blockMultiplier(factor * factor)
        val reader = samples.reader(regionWidth, buffers.span)
        val row = buffers.row.atLeast(regionWidth)
        val sums = buffers.sums.atLeast(regionWidth)
        for (blockRow in 0 until outHeight) {
            val firstRow = top + blockRow * factor
            val rows = minOf(factor, bottom - firstRow)
            sums.fill(0, 0, regionWidth)
            for (y in firstRow until firstRow + rows) {
                reader.copy(y, left, regionWidth, row, 0)
                addRow(row, regionWidth, sums)
            }
            for (column in 0 until outWidth) {
                val first = column * factor
                val last = minOf(first + factor, regionWidth)
                var total = 0
                for (x in first until last) total += sums[x]
                val count = rows * (last - first)
                val multiplier = if (count == factor * factor) fullMultiplier else ImagePreprocessing.blockMultiplier(count)
                // Pillow computes in UINT32: the product stays below 2^32 and ushr reads it unsigned.
                out[blockRow * outWidth + column] = ((total + count / 2) * multiplier ushr 24).toByte()
            }
        }
        return Samples(out, outWidth, outHeight)
    }

    private fun addRow(row: ByteArray, count: Int, sums: IntArray) {
        for (x in 0 until count) sums[x] += row[x].toInt() and 0xFF
    }

    /**
     * The triangle filter over a (possibly fractional) box of one or two planes of the same size,
     * vertical pass first: it runs tap by tap over whole rows (about half the cost per multiply-add of the per-pixel pass, measured) and leaves
     * the per-pixel horizontal pass `size` rows instead of every row the box spans. Reads only the
     * rows and columns the filter reaches.
     */
    private fun resample(
        planes: List<Samples>, left: Double, top: Double, right: Double, bottom: Double, size: Int, buffers: PlaneBuffers,
    ): ByteArray {
        val first = planes[0]
        val horizontal = buffers.horizontal.of(first.width, left, right, size)
        val vertical = buffers.vertical.of(first.height, top, bottom, size)
        val needsHorizontal = size != first.width || left != 0.0 || right != size.toDouble()
        val needsVertical = size != first.height || top != 0.0 || bottom != size.toDouble()
        val firstColumn = if (needsHorizontal) horizontal.starts[0] else 0
        val columns = if (needsHorizontal) (0 until size).maxOf { horizontal.starts[it] + horizontal.counts[it] } - firstColumn else size
        val firstRow = if (needsVertical) vertical.starts[0] else 0
        val rowCount = if (needsVertical) vertical.starts[size - 1] + vertical.counts[size - 1] - firstRow else size
        // The region's rows, each plane's columns side by side, then the vertical pass over them.
        val rowBytes = planes.size * columns
        val region = buffers.region.atLeast(rowCount * rowBytes)
        for (index in planes.indices) {
            val reader = planes[index].reader(columns, buffers.span)
            for (row in 0 until rowCount) reader.copy(firstRow + row, firstColumn, columns, region, row * rowBytes + index * columns)
        }
        val rows = if (needsVertical) {
            val out = buffers.columns.atLeast(size * rowBytes)
            ImagePreprocessing.resampleColumns(region, rowBytes, vertical, firstRow, out, buffers.bands, parallel = false)
        } else {
            region
        }
        if (!needsHorizontal) return rows // columns == size: already each plane's row side by side
        val out = buffers.resized.atLeast(size * planes.size * size)
        for (y in 0 until size) {
            val rowStart = y * rowBytes - firstColumn
            val outStart = y * planes.size * size
            if (planes.size == 2) {
                filterRowPair(rows, rowStart, rows, rowStart + columns, horizontal, out, outStart, outStart + size)
            } else {
                filterRow(rows, rowStart, horizontal, out, outStart)
            }
        }
        return out
    }

    /** One row of the horizontal pass over one plane; a method of its own, which the JIT optimises best. */
    private fun filterRow(data: ByteArray, origin: Int, c: ImagePreprocessing.Coefficients, out: ByteArray, outOffset: Int) {
        val starts = c.starts
        val counts = c.counts
        val weights = c.weights
        val taps = c.taps
        for (x in starts.indices) {
            val start = origin + starts[x]
            val weightOffset = x * taps
            var sum = ImagePreprocessing.HALF
            for (tap in 0 until counts[x]) sum += (data[start + tap].toInt() and 0xFF) * weights[weightOffset + tap]
            out[outOffset + x] = ImagePreprocessing.clamp(sum)
        }
    }

    /**
     * [filterRow] for the two chroma planes at once: same taps and weights, so one loop serves both
     * (chroma's 2–4 taps per output leave the loop's own work larger than the arithmetic).
     */
    private fun filterRowPair(
        first: ByteArray, firstOrigin: Int, second: ByteArray, secondOrigin: Int,
        c: ImagePreprocessing.Coefficients, out: ByteArray, firstOut: Int, secondOut: Int,
    ) {
        val starts = c.starts
        val counts = c.counts
        val weights = c.weights
        val taps = c.taps
        for (x in starts.indices) {
            val a = firstOrigin + starts[x]
            val b = secondOrigin + starts[x]
            val weightOffset = x * taps
            var sumA = ImagePreprocessing.HALF
            var sumB = ImagePreprocessing.HALF
            for (tap in 0 until counts[x]) {
                val weight = weights[weightOffset + tap]
                sumA += (first[a + tap].toInt() and 0xFF) * weight
                sumB += (second[b + tap].toInt() and 0xFF) * weight
            }
            out[firstOut + x] = ImagePreprocessing.clamp(sumA)
            out[secondOut + x] = ImagePreprocessing.clamp(sumB)
        }
    }

    /** One plane's samples: a camera buffer with its strides, or a reduced plane in an array. */
    private class Samples private constructor(
        val width: Int,
        val height: Int,
        private val plane: YuvPlane?,
        private val array: ByteArray?,
    ) {
        constructor(plane: YuvPlane, width: Int, height: Int) : this(width, height, plane, null)
        constructor(array: ByteArray, width: Int, height: Int) : this(width, height, null, array)

        /** A reader of up to [columns] samples of a row at a time, for one thread, picking chroma out of [span]. */
        fun reader(columns: Int, span: ReusedBytes): RowReader = RowReader(plane, array, width, columns, span)
    }

    /**
     * Copies rows of a plane out, compacted: an array with `System.arraycopy`, a camera buffer with
     * one bulk `get` per row (a duplicate per reader, so readers on several threads do not share a
     * position), then every `pixelStride`-th byte picked out when chroma is interleaved.
     */
    private class RowReader(
        private val plane: YuvPlane?, private val array: ByteArray?, private val width: Int, columns: Int, span: ReusedBytes,
    ) {
        private val view: ByteBuffer? = plane?.buffer?.duplicate()
        private val span: ByteArray? = plane?.takeIf { it.pixelStride != 1 }?.let { span.atLeast((columns - 1) * it.pixelStride + 1) }

        /** Copies samples `[x, x + count)` of [row] to `destination[offset until offset + count]`. */
        fun copy(row: Int, x: Int, count: Int, destination: ByteArray, offset: Int) {
            if (array != null) {
                System.arraycopy(array, row * width + x, destination, offset, count)
                return
            }
            val plane = plane!!
            val stride = plane.pixelStride
            val view = view!!
            view.position(row * plane.rowStride + x * stride)
            val span = span
            if (span == null) {
                view.get(destination, offset, count)
                return
            }
            view.get(span, 0, (count - 1) * stride + 1)
            for (i in 0 until count) destination[offset + i] = span[i * stride]
        }
    }
}

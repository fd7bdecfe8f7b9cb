package com.example.mnv3

/**
 * A region of an image turned upright, as a [PixelSource] of its own: the pixels from [left], [top]
 * to [right], [bottom] (exclusive) of [source], in the source's own orientation, then rotated
 * [rotationDegrees] clockwise. This is MediaPipe's `ImageProcessingOptions` order: the region of
 * interest is cut from the image as stored, then the cut is rotated. Preprocessing the region is
 * exactly preprocessing an image that holds only those pixels, turned upright, because every
 * pixel is only moved: `ImagePreprocessing.preprocess(UprightRegion(photo, 90))` gives the bytes
 * that the upright photo gives, and Python's `preprocess_rgb(np.rot90(rgb[top:bottom,
 * left:right], -rotation // 90))` (checked by mnv3-sdk's tests). Plain Kotlin, tested on the JVM.
 *
 * Reads are passed on to [source] as one rectangle each (for 90° and 270° a band of upright rows
 * is a band of source columns), so a large bitmap is still read a band at a time.
 *
 * @param rotationDegrees clockwise, any multiple of 90 (negative ones too).
 * @throws IllegalArgumentException if the region is empty or not inside the source, or the
 *   rotation is not a multiple of 90.
 */
class UprightRegion @JvmOverloads constructor(
    private val source: PixelSource,
    rotationDegrees: Int,
    private val left: Int = 0,
    private val top: Int = 0,
    private val right: Int = source.width,
    private val bottom: Int = source.height,
) : PixelSource {
    /** The clockwise rotation, normalised to 0, 90, 180 or 270. */
    val rotationDegrees: Int = normaliseRotation(rotationDegrees)

    init {
        require(left in 0 until right && right <= source.width && top in 0 until bottom && bottom <= source.height) {
            "region ($left, $top, $right, $bottom) is not a non-empty part of the ${source.width}×${source.height} image"
        }
    }

    private val regionWidth = right - left
    private val regionHeight = bottom - top

    override val width: Int = if (this.rotationDegrees % 180 == 0) regionWidth else regionHeight
    override val height: Int = if (this.rotationDegrees % 180 == 0) regionHeight else regionWidth

    override fun readPixels(destination: IntArray, left: Int, top: Int, columns: Int, rows: Int) {
        if (columns == 0 || rows == 0) return
        require(left >= 0 && top >= 0 && left + columns <= width && top + rows <= height) {
            "($left, $top) + ${columns}×$rows is outside the ${width}×$height region"
        }
        val w = regionWidth
        val h = regionHeight
        // Upright pixel (u, v) is region pixel (v, h-1-u) at 90°, (w-1-u, h-1-v) at 180°, (w-1-v, u) at 270°.
        when (rotationDegrees) {
            0 -> source.readPixels(destination, this.left + left, this.top + top, columns, rows)
            90 -> {
                // Region columns top until top+rows, rows h-left-columns until h-left: `rows` wide, `columns` high.
                val band = IntArray(columns * rows)
                source.readPixels(band, this.left + top, this.top + h - left - columns, rows, columns)
                for (v in 0 until rows) for (u in 0 until columns) destination[v * columns + u] = band[(columns - 1 - u) * rows + v]
            }
            180 -> {
                val band = IntArray(columns * rows)
                source.readPixels(band, this.left + w - left - columns, this.top + h - top - rows, columns, rows)
                for (v in 0 until rows) for (u in 0 until columns) destination[v * columns + u] = band[(rows - 1 - v) * columns + columns - 1 - u]
            }
            else -> {
                val band = IntArray(columns * rows)
                source.readPixels(band, this.left + w - top - rows, this.top + left, rows, columns)
                for (v in 0 until rows) for (u in 0 until columns) destination[v * columns + u] = band[u * rows + rows - 1 - v]
            }
        }
    }

    companion object {
        /**
         * [degrees] as 0, 90, 180 or 270 (-90 is 270, 450 is 90).
         *
         * @throws IllegalArgumentException if [degrees] is not a multiple of 90.
         */
        @JvmStatic
        fun normaliseRotation(degrees: Int): Int {
            require(degrees % 90 == 0) { "rotationDegrees must be a multiple of 90, got $degrees" }
            return Math.floorMod(degrees, 360)
        }
    }
}

/** ARGB pixels in an array, row after row, as a [PixelSource] (for regions and rotations of them). */
internal class ArgbPixels(private val argb: IntArray, override val width: Int, override val height: Int) : PixelSource {
    init {
        require(width >= 1 && height >= 1) { "image must be at least 1×1, got ${width}×$height" }
        require(argb.size >= width * height) { "expected ${width * height} pixels, got ${argb.size}" }
    }

    override fun readPixels(destination: IntArray, left: Int, top: Int, columns: Int, rows: Int) {
        for (row in 0 until rows) System.arraycopy(argb, (top + row) * width + left, destination, row * columns, columns)
    }
}

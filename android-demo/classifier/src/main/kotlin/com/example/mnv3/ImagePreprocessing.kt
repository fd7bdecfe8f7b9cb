package com.example.mnv3

import java.util.stream.IntStream
import kotlin.math.abs
import kotlin.math.ceil
import kotlin.math.floor

/** The central square of an image that is resized into the model input. */
data class CropBox(val left: Int, val top: Int, val side: Int)

/**
 * ARGB pixels that preprocessing reads one band of rows at a time, so that a large image is never
 * copied whole: [ImagePreprocessing] asks only for the rows and columns the crop and the filter
 * reach, a few rows at a time for large reductions. The classifier reads a `Bitmap` this way,
 * with `readPixels` calling `bitmap.getPixels(destination, 0, columns, left, top, columns, rows)`.
 */
interface PixelSource {
    val width: Int
    val height: Int

    /**
     * Copies `rows` rows from [top] of `columns` columns from [left] into [destination], row after
     * row, `columns` ints apart, as `Bitmap.getPixels(destination, 0, columns, left, top, columns,
     * rows)` does. Bands are disjoint and may be read from several threads at once.
     */
    fun readPixels(destination: IntArray, left: Int, top: Int, columns: Int, rows: Int)
}

/**
 * Turns camera or gallery pixels into the model's input bytes, exactly as mnv3-sdk does in Python.
 *
 * Steps (the preprocessing contract): take the central square of side
 * `round(min(width, height) * cropFraction)`; when it is at least 4× the output side, first average
 * `factor`×`factor` blocks of it and of the filter's reach around it (`factor = side / size / 2`:
 * Pillow's `reduce`, as its `resize` does with `reducing_gap=2`); then resize to `size`×`size`
 * with an antialiased bilinear (triangle) filter using half-pixel centres, and emit RGB bytes in
 * HWC order. Normalisation (mean/std) happens inside the model, so it is not repeated here.
 *
 * All arithmetic is integer or exactly reproducible float math, so the output is byte-identical
 * to the Python reference; the build's tests check this on real photos and odd sizes. Large
 * images are worked on in bands of rows, one per CPU core.
 */
object ImagePreprocessing {
    private const val PRECISION_BITS = 22
    internal const val HALF = 1 shl (PRECISION_BITS - 1)
    internal const val REDUCING_GAP = 2.0

    // Below about this many multiply-adds (or pixels summed) a pass runs in one piece: handing
    // bands to other threads costs more than it saves for small images.
    private const val PARALLEL_WORK = 200_000L

    // Rows summed in 16-bit halves of an int before they are split (see BlockReducer).
    private const val LANE_ROWS = 256

    /** The central square kept before resizing; never empty. */
    @JvmStatic
    fun centerCropBox(width: Int, height: Int, cropFraction: Double): CropBox {
        require(width >= 1 && height >= 1) { "image must be at least 1×1, got ${width}×$height" }
        val shortSide = minOf(width, height)
        val side = floor(shortSide * cropFraction + 0.5).toInt().coerceIn(1, shortSide)
        return CropBox((width - side) / 2, (height - side) / 2, side)
    }

    /**
     * Preprocesses ARGB pixels, row by row as `Bitmap.getPixels` returns them, into
     * `size * size * 3` RGB bytes (alpha is dropped).
     */
    @JvmStatic
    fun preprocess(argb: IntArray, width: Int, height: Int, size: Int, cropFraction: Double): ByteArray =
        preprocess(argb, width, height, size, cropFraction, PreprocessingBuffers())

    /** [preprocess] working in [buffers]: the bytes returned are theirs, overwritten by their next use. */
    internal fun preprocess(
        argb: IntArray, width: Int, height: Int, size: Int, cropFraction: Double, buffers: PreprocessingBuffers,
    ): ByteArray {
        require(width >= 1 && height >= 1) { "image must be at least 1×1, got ${width}×$height" }
        require(argb.size >= width * height) { "expected ${width * height} pixels, got ${argb.size}" }
        return preprocess(Pixels(width, height, argb, null), size, cropFraction, buffers)
    }

    /**
     * Preprocesses the pixels of [source] into `size * size * 3` RGB bytes (alpha is dropped),
     * reading only the rows and columns it needs, in bands of a few rows for large images.
     */
    @JvmStatic
    fun preprocess(source: PixelSource, size: Int, cropFraction: Double): ByteArray =
        preprocess(source, size, cropFraction, PreprocessingBuffers())

    /** [preprocess] working in [buffers]: the bytes returned are theirs, overwritten by their next use. */
    internal fun preprocess(source: PixelSource, size: Int, cropFraction: Double, buffers: PreprocessingBuffers): ByteArray =
        preprocess(Pixels(source.width, source.height, null, source), size, cropFraction, buffers)

    /**
     * Preprocesses a camera frame into `size * size * 3` RGB bytes of the upright image, by the
     * camera-frame contract: each plane is cropped and resized on its own, the results rotated
     * upright and converted to RGB (see [YuvFrame]). No full-size RGB image is built.
     */
    @JvmStatic
    fun preprocess(frame: YuvFrame, size: Int, cropFraction: Double): ByteArray =
        preprocess(frame, size, cropFraction, PreprocessingBuffers())

    /** [preprocess] working in [buffers]: the bytes returned are theirs, overwritten by their next use. */
    internal fun preprocess(frame: YuvFrame, size: Int, cropFraction: Double, buffers: PreprocessingBuffers): ByteArray {
        require(size >= 1) { "output size must be positive, got $size" }
        return YuvPreprocessing.preprocess(frame, size, cropFraction, buffers)
    }

    private fun preprocess(source: Pixels, size: Int, cropFraction: Double, buffers: PreprocessingBuffers): ByteArray {
        require(size >= 1) { "output size must be positive, got $size" }
        val box = centerCropBox(source.width, source.height, cropFraction)
        val right = box.left + box.side
        val bottom = box.top + box.side
        val factor = maxOf(1, (box.side.toDouble() / size / REDUCING_GAP).toInt())
        if (factor == 1) {
            return resample(source, box.left.toDouble(), box.top.toDouble(), right.toDouble(), bottom.toDouble(), size, buffers)
        }
        // The crop plus the filter's reach (half an output pixel each side), as Pillow's _get_safe_box.
        val support = 0.5 * (box.side.toDouble() / size)
        val regionLeft = maxOf(0, (box.left - support).toInt())
        val regionTop = maxOf(0, (box.top - support).toInt())
        val regionRight = minOf(source.width, ceil(right + support).toInt())
        val regionBottom = minOf(source.height, ceil(bottom + support).toInt())
        return reduceAndResample(
            source, regionLeft, regionTop, regionRight, regionBottom, factor,
            (box.left - regionLeft).toDouble() / factor, (box.top - regionTop).toDouble() / factor,
            (right - regionLeft).toDouble() / factor, (bottom - regionTop).toDouble() / factor,
            size, buffers,
        )
    }

    /**
     * Both stages for a large reduction: averages `factor`×`factor` blocks of the region (Pillow's
     * `reduce`), then resizes the box (in block units) with the filter, horizontal pass first.
     *
     * The horizontal pass needs nothing but the row it filters, so each block row is filtered as
     * soon as it is reduced, while its averages are still in cache; the full image of block
     * averages is never built. Only the rows the vertical pass reads are reduced.
     */
    private fun reduceAndResample(
        source: Pixels, left: Int, top: Int, right: Int, bottom: Int, factor: Int,
        boxLeft: Double, boxTop: Double, boxRight: Double, boxBottom: Double, size: Int, buffers: PreprocessingBuffers,
    ): ByteArray {
        val regionWidth = right - left
        val reducedWidth = (regionWidth + factor - 1) / factor
        val reducedHeight = (bottom - top + factor - 1) / factor
        val horizontal = buffers.horizontal.of(reducedWidth, boxLeft, boxRight, size)
        val vertical = buffers.vertical.of(reducedHeight, boxTop, boxBottom, size)
        val firstRow = vertical.starts[0]
        val rowCount = vertical.starts[size - 1] + vertical.counts[size - 1] - firstRow
        val rowBytes = size * 3
        val rows = buffers.rows.atLeast(rowCount * rowBytes)
        val work = regionWidth.toLong() * factor * rowCount + rowCount.toLong() * horizontal.weights.size
        inBands(rowCount, work, buffers.bands) { band, from, to ->
            val reducer = BlockReducer(source, left, top, bottom, regionWidth, factor, band)
            val averages = band.averages.atLeast(reducedWidth)
            for (row in from until to) {
                reducer.reduceRow(firstRow + row, averages)
                resampleRow(averages, 0, horizontal, rows, row * rowBytes)
            }
        }
        return resampleColumns(rows, rowBytes, vertical, firstRow, buffers.rgb(size), buffers.bands)
    }

    /**
     * Averages `factor`×`factor` blocks of a region into packed RGB ints, one block row at a time
     * (Pillow's `reduce`; partial blocks at the right and bottom average what they hold):
     * `((sum + n / 2) * m) >> 24` with Pillow's single-precision `m = 2^32 / (256 n)` for a block
     * of `n` pixels. One per band of rows, working in that band's [BandBuffers].
     */
    private class BlockReducer(
        private val source: Pixels, private val left: Int, private val top: Int, private val bottom: Int,
        private val regionWidth: Int, private val factor: Int, band: BandBuffers,
    ) {
        private val outWidth = (regionWidth + factor - 1) / factor
        private val fullMultiplier = blockMultiplier(factor * factor)
        private val buffer = source.bufferFor(regionWidth * minOf(factor, LANE_ROWS), band.pixels)
        // Per input column, red and blue side by side in one int: up to 256 rows add at most
        // 255 × 256 to each 16-bit half, so neither carries into the other.
        private val redBlue = band.redBlue.atLeast(regionWidth)
        private val greenShifted = band.greenShifted.atLeast(regionWidth)
        private val red = band.red.atLeast(outWidth)
        private val green = band.green.atLeast(outWidth)
        private val blue = band.blue.atLeast(outWidth)

        /** Writes the averages of block row [blockRow] to [out]. */
        fun reduceRow(blockRow: Int, out: IntArray) {
            val firstRow = top + blockRow * factor
            if (factor == 2 && bottom - firstRow >= 2) {
                val window = source.window(left, firstRow, regionWidth, 2, buffer)
                val upper = window.offset
                reduceRowPair(window.pixels, upper, upper + window.stride, regionWidth, out, redBlue, greenShifted)
                return
            }
            red.fill(0, 0, outWidth)
            green.fill(0, 0, outWidth)
            blue.fill(0, 0, outWidth)
            val rows = minOf(factor, bottom - firstRow)
            for (chunk in 0 until rows step LANE_ROWS) {
                val chunkRows = minOf(LANE_ROWS, rows - chunk)
                val window = source.window(left, firstRow + chunk, regionWidth, chunkRows, buffer)
                redBlue.fill(0, 0, regionWidth)
                greenShifted.fill(0, 0, regionWidth)
                for (row in 0 until chunkRows) {
                    accumulateRow(window.pixels, window.offset + row * window.stride, regionWidth, redBlue, greenShifted)
                }
                for (column in 0 until outWidth) {
                    for (x in column * factor until minOf(column * factor + factor, regionWidth)) {
                        red[column] += redBlue[x] ushr 16
                        blue[column] += redBlue[x] and 0xFFFF
                        green[column] += greenShifted[x] ushr 8
                    }
                }
            }
            for (column in 0 until outWidth) {
                val count = rows * minOf(factor, regionWidth - column * factor)
                val multiplier = if (count == factor * factor) fullMultiplier else blockMultiplier(count)
                val amend = count / 2
                // Pillow computes in UINT32; the product stays below 2^32, and ushr reads
                // Kotlin's wrapped Int as that unsigned value.
                val r = (red[column] + amend) * multiplier ushr 24
                val g = (green[column] + amend) * multiplier ushr 24
                val b = (blue[column] + amend) * multiplier ushr 24
                out[column] = (r shl 16) or (g shl 8) or b
            }
        }
    }

    /** Adds one row to the column sums: a plain unit-stride loop in a method of its own, which the JIT optimises best. */
    private fun accumulateRow(pixels: IntArray, start: Int, count: Int, redBlue: IntArray, greenShifted: IntArray) {
        for (x in 0 until count) {
            val pixel = pixels[start + x]
            redBlue[x] += pixel and 0xFF00FF
            greenShifted[x] += pixel and 0xFF00
        }
    }

    /**
     * [BlockReducer.reduceRow] for `factor` 2 and two whole rows (crops from 4× to 6× the output
     * side, 1080p frames' among them): the same sums and rounding, with no per-block
     * multiply. Pillow's multiplier for four pixels is exactly 2^22 (2^32 / 1024 in single
     * precision), so `((sum + 2) * m) >> 24` is `(sum + 2) >> 2`, done on red and blue together.
     */
    private fun reduceRowPair(
        pixels: IntArray, upper: Int, lower: Int, regionWidth: Int, out: IntArray, redBlue: IntArray, green: IntArray,
    ) {
        sumRowPair(pixels, upper, lower, regionWidth, redBlue, green)
        for (column in 0 until regionWidth / 2) {
            val x = 2 * column
            // Four pixels add at most 1020 to each 16-bit half of redBlue, so red and blue never
            // carry into each other; the shift moves red's dropped bits below its byte, then masked.
            val rb = redBlue[x] + redBlue[x + 1] + 0x20002
            val g = green[x] + green[x + 1] + 0x200
            out[column] = ((rb ushr 2) and 0xFF00FF) or ((g ushr 2) and 0xFF00)
        }
        if (regionWidth % 2 == 1) { // a last column of two pixels
            val a = pixels[upper + regionWidth - 1]
            val c = pixels[lower + regionWidth - 1]
            val half = blockMultiplier(2)
            val r = (((a shr 16) and 0xFF) + ((c shr 16) and 0xFF) + 1) * half ushr 24
            val g = (((a shr 8) and 0xFF) + ((c shr 8) and 0xFF) + 1) * half ushr 24
            val bl = ((a and 0xFF) + (c and 0xFF) + 1) * half ushr 24
            out[regionWidth / 2] = (r shl 16) or (g shl 8) or bl
        }
    }

    /** Sums two rows column by column: a plain unit-stride loop in a method of its own, which the JIT optimises best. */
    private fun sumRowPair(pixels: IntArray, upper: Int, lower: Int, count: Int, redBlue: IntArray, green: IntArray) {
        for (x in 0 until count) {
            val a = pixels[upper + x]
            val c = pixels[lower + x]
            redBlue[x] = (a and 0xFF00FF) + (c and 0xFF00FF)
            green[x] = (a and 0xFF00) + (c and 0xFF00)
        }
    }

    /** Pillow's `division_UINT32(count, 8)`: 2^32 / (256 count) in single precision, truncated. */
    internal fun blockMultiplier(count: Int): Int = (4294967296f / (256 * count).toFloat()).toLong().toInt()

    /**
     * The antialiased bilinear resize of a (possibly fractional) box, horizontal pass first; reads
     * only the rows and columns the filter reaches, in one piece (at most about 4 × size squared).
     */
    private fun resample(
        source: Pixels, left: Double, top: Double, right: Double, bottom: Double, size: Int, buffers: PreprocessingBuffers,
    ): ByteArray {
        val horizontal = buffers.horizontal.of(source.width, left, right, size)
        val vertical = buffers.vertical.of(source.height, top, bottom, size)
        val firstRow = vertical.starts[0]
        val rowCount = vertical.starts[size - 1] + vertical.counts[size - 1] - firstRow
        val needsHorizontal = size != source.width || left != 0.0 || right != size.toDouble()
        val needsVertical = size != source.height || top != 0.0 || bottom != size.toDouble()

        val rows = if (needsHorizontal) {
            val firstColumn = horizontal.starts[0]
            val columns = (0 until size).maxOf { horizontal.starts[it] + horizontal.counts[it] } - firstColumn
            val window = source.window(firstColumn, firstRow, columns, rowCount, source.bufferFor(columns * rowCount, buffers.window))
            resampleRows(window, firstColumn, rowCount, horizontal, buffers)
        } else {
            val window = source.window(0, firstRow, source.width, rowCount, source.bufferFor(source.width * rowCount, buffers.window))
            copyRows(window, source.width, rowCount, buffers.rows.atLeast(rowCount * source.width * 3))
        }
        val rgb = buffers.rgb(size)
        // Without a vertical pass the rows are the output (rowCount is size), in an array that may be longer.
        return if (needsVertical) resampleColumns(rows, size * 3, vertical, firstRow, rgb, buffers.bands) else rows.copyInto(rgb, 0, 0, rgb.size)
    }

    /** The horizontal pass over a window whose column 0 is input column [firstColumn]. */
    private fun resampleRows(window: PixelWindow, firstColumn: Int, rowCount: Int, c: Coefficients, buffers: PreprocessingBuffers): ByteArray {
        val out = buffers.rows.atLeast(rowCount * c.starts.size * 3)
        inBands(rowCount, rowCount.toLong() * c.weights.size, buffers.bands) { _, from, to ->
            for (row in from until to) {
                resampleRow(window.pixels, window.offset + row * window.stride - firstColumn, c, out, row * c.starts.size * 3)
            }
        }
        return out
    }

    /** One row of the horizontal pass; a method of its own, which the JIT optimises best. */
    private fun resampleRow(pixels: IntArray, rowOffset: Int, c: Coefficients, out: ByteArray, outOffset: Int) {
        val starts = c.starts
        val counts = c.counts
        val weights = c.weights
        val taps = c.taps
        var o = outOffset
        for (x in starts.indices) {
            val start = rowOffset + starts[x]
            val weightOffset = x * taps
            var red = HALF
            var green = HALF
            var blue = HALF
            for (tap in 0 until counts[x]) {
                val pixel = pixels[start + tap]
                val weight = weights[weightOffset + tap]
                red += ((pixel shr 16) and 0xFF) * weight
                green += ((pixel shr 8) and 0xFF) * weight
                blue += (pixel and 0xFF) * weight
            }
            out[o] = clamp(red)
            out[o + 1] = clamp(green)
            out[o + 2] = clamp(blue)
            o += 3
        }
    }

    private fun copyRows(window: PixelWindow, width: Int, rowCount: Int, out: ByteArray): ByteArray {
        for (row in 0 until rowCount) {
            for (x in 0 until width) {
                val pixel = window.pixels[window.offset + row * window.stride + x]
                val o = (row * width + x) * 3
                out[o] = (pixel shr 16).toByte()
                out[o + 1] = (pixel shr 8).toByte()
                out[o + 2] = pixel.toByte()
            }
        }
        return out
    }

    /**
     * The vertical pass over rows of [rowBytes] bytes (size × channels) whose row 0 is input row
     * [firstRow], into [out]; in bands on every core when [parallel] and large enough.
     */
    internal fun resampleColumns(
        rows: ByteArray, rowBytes: Int, c: Coefficients, firstRow: Int, out: ByteArray, bands: Bands,
        parallel: Boolean = true,
    ): ByteArray {
        val outHeight = c.starts.size
        inBands(outHeight, if (parallel) rowBytes.toLong() * c.weights.size else 0L, bands) { band, from, to ->
            val sums = band.sums.atLeast(rowBytes)
            for (y in from until to) {
                sums.fill(HALF, 0, rowBytes)
                val start = c.starts[y] - firstRow
                val weightOffset = y * c.taps
                // Tap by tap over whole rows: the bytes are read in order.
                for (tap in 0 until c.counts[y]) {
                    val weight = c.weights[weightOffset + tap]
                    val rowOffset = (start + tap) * rowBytes
                    for (i in 0 until rowBytes) sums[i] += (rows[rowOffset + i].toInt() and 0xFF) * weight
                }
                val outOffset = y * rowBytes
                for (i in 0 until rowBytes) out[outOffset + i] = clamp(sums[i])
            }
        }
        return out
    }

    /** Pixel (x, y) of a window is `pixels[offset + y * stride + x]`. */
    private class PixelWindow(val pixels: IntArray, val offset: Int, val stride: Int)

    /** The pixels being preprocessed: an array read in place, or a [PixelSource] read into buffers. */
    private class Pixels(val width: Int, val height: Int, private val argb: IntArray?, private val source: PixelSource?) {
        /** A buffer of [reused] for [window] to copy `count` pixels into; none is needed for an array. */
        fun bufferFor(count: Int, reused: ReusedInts): IntArray? = if (argb != null) null else reused.atLeast(count)

        fun window(left: Int, top: Int, columns: Int, rows: Int, buffer: IntArray?): PixelWindow {
            if (argb != null) return PixelWindow(argb, top * width + left, width)
            source!!.readPixels(buffer!!, left, top, columns, rows)
            return PixelWindow(buffer, 0, columns)
        }
    }

    /**
     * Runs [body] over `0 until count` split in one band per CPU core (on the common fork-join
     * pool and the calling thread), or in one piece when the pass is too small to repay the
     * hand-off. Each band writes its own rows of the output, so the result does not depend on
     * the split, and works in its own arrays of [buffers], since bands run at the same time.
     */
    private inline fun inBands(count: Int, work: Long, buffers: Bands, crossinline body: (BandBuffers, Int, Int) -> Unit) {
        val bands = if (work < PARALLEL_WORK) 1 else minOf(count, Runtime.getRuntime().availableProcessors())
        val bandBuffers = buffers.first(maxOf(bands, 1))
        if (bands <= 1) {
            body(bandBuffers[0], 0, count)
        } else {
            IntStream.range(0, bands).parallel().forEach { band ->
                body(bandBuffers[band], count * band / bands, count * (band + 1) / bands)
            }
        }
    }

    internal fun clamp(accumulated: Int): Byte = (accumulated shr PRECISION_BITS).coerceIn(0, 255).toByte()

    /** Per output pixel: first input index, tap count, and fixed-point weights (Pillow's layout). */
    internal class Coefficients(val starts: IntArray, val counts: IntArray, val weights: IntArray, val taps: Int) {
        companion object {
            fun compute(inSize: Int, boxStart: Double, boxEnd: Double, outSize: Int): Coefficients {
                val scale = (boxEnd - boxStart) / outSize
                val filterScale = maxOf(scale, 1.0)
                val support = filterScale // the triangle filter's support is 1 at scale 1
                val taps = ceil(support).toInt() * 2 + 1
                val inverseFilterScale = 1.0 / filterScale
                val starts = IntArray(outSize)
                val counts = IntArray(outSize)
                val weights = IntArray(outSize * taps)
                val raw = DoubleArray(taps)
                for (out in 0 until outSize) {
                    val center = boxStart + (out + 0.5) * scale
                    val first = maxOf(0, (center - support + 0.5).toInt()) // truncates toward zero, like C
                    val last = minOf(inSize, (center + support + 0.5).toInt())
                    val count = last - first
                    var total = 0.0
                    for (tap in 0 until count) {
                        val distance = abs((tap + first - center + 0.5) * inverseFilterScale)
                        val weight = if (distance < 1.0) 1.0 - distance else 0.0
                        raw[tap] = weight
                        total += weight
                    }
                    for (tap in 0 until count) {
                        val normalised = if (total != 0.0) raw[tap] / total else raw[tap]
                        weights[out * taps + tap] = (normalised * (1 shl PRECISION_BITS) + 0.5).toInt()
                    }
                    starts[out] = first
                    counts[out] = count
                }
                return Coefficients(starts, counts, weights, taps)
            }
        }
    }
}

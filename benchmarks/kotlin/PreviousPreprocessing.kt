// The generated ImagePreprocessing as it was before the two-stage resize (mnv3-sdk commit 8371690),
// kept only so benchmarks/kotlin_preprocess.py can time it beside today's in one run.
package com.example.mnv3.previous

import com.example.mnv3.CropBox
import kotlin.math.abs
import kotlin.math.ceil
import kotlin.math.floor

/**
 * Turns camera or gallery pixels into the model's input bytes, exactly as mnv3-sdk does in Python.
 *
 * Steps (the preprocessing contract): take the central square of side
 * `round(min(width, height) * cropFraction)`, resize it to `size`×`size` with an antialiased
 * bilinear (triangle) filter using half-pixel centres, and emit RGB bytes in NHWC order.
 * Normalisation (mean/std) happens inside the model, so it is not repeated here.
 *
 * All arithmetic is integer or exactly reproducible double math, so the output is byte-identical
 * to the Python reference; the build's tests check this on real photos and odd sizes.
 */
object PreviousPreprocessing {
    private const val PRECISION_BITS = 22
    private const val HALF = 1 shl (PRECISION_BITS - 1)

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
    fun preprocess(argb: IntArray, width: Int, height: Int, size: Int, cropFraction: Double): ByteArray {
        require(argb.size >= width * height) { "expected ${width * height} pixels, got ${argb.size}" }
        require(size >= 1) { "output size must be positive, got $size" }
        val box = centerCropBox(width, height, cropFraction)
        val horizontal = Coefficients.compute(width, box.left, box.left + box.side, size)
        val vertical = Coefficients.compute(height, box.top, box.top + box.side, size)
        // Only the rows the vertical pass reads are resampled horizontally.
        val firstRow = vertical.starts[0]
        val lastRow = vertical.starts[size - 1] + vertical.counts[size - 1]
        val needsHorizontal = size != width || box.left != 0 || box.left + box.side != size
        val needsVertical = size != height || box.top != 0 || box.top + box.side != size

        val rowCount = lastRow - firstRow
        val rows = if (needsHorizontal) {
            resampleRows(argb, width, firstRow, rowCount, horizontal)
        } else {
            copyRows(argb, width, firstRow, rowCount)
        }
        return if (needsVertical) resampleColumns(rows, size, vertical, firstRow) else rows
    }

    private fun resampleRows(argb: IntArray, width: Int, firstRow: Int, rowCount: Int, c: Coefficients): ByteArray {
        val outWidth = c.starts.size
        val out = ByteArray(rowCount * outWidth * 3)
        for (row in 0 until rowCount) {
            val rowOffset = (firstRow + row) * width
            for (x in 0 until outWidth) {
                val start = c.starts[x]
                val weightOffset = x * c.taps
                var red = HALF
                var green = HALF
                var blue = HALF
                for (tap in 0 until c.counts[x]) {
                    val pixel = argb[rowOffset + start + tap]
                    val weight = c.weights[weightOffset + tap]
                    red += ((pixel shr 16) and 0xFF) * weight
                    green += ((pixel shr 8) and 0xFF) * weight
                    blue += (pixel and 0xFF) * weight
                }
                val o = (row * outWidth + x) * 3
                out[o] = clamp(red)
                out[o + 1] = clamp(green)
                out[o + 2] = clamp(blue)
            }
        }
        return out
    }

    private fun copyRows(argb: IntArray, width: Int, firstRow: Int, rowCount: Int): ByteArray {
        val out = ByteArray(rowCount * width * 3)
        for (i in 0 until rowCount * width) {
            val pixel = argb[firstRow * width + i]
            out[i * 3] = (pixel shr 16).toByte()
            out[i * 3 + 1] = (pixel shr 8).toByte()
            out[i * 3 + 2] = pixel.toByte()
        }
        return out
    }

    private fun resampleColumns(rows: ByteArray, width: Int, c: Coefficients, firstRow: Int): ByteArray {
        val outHeight = c.starts.size
        val out = ByteArray(outHeight * width * 3)
        for (y in 0 until outHeight) {
            val start = c.starts[y] - firstRow
            val weightOffset = y * c.taps
            for (x in 0 until width) {
                for (channel in 0 until 3) {
                    var sum = HALF
                    for (tap in 0 until c.counts[y]) {
                        val value = rows[((start + tap) * width + x) * 3 + channel].toInt() and 0xFF
                        sum += value * c.weights[weightOffset + tap]
                    }
                    out[(y * width + x) * 3 + channel] = clamp(sum)
                }
            }
        }
        return out
    }

    private fun clamp(accumulated: Int): Byte = (accumulated shr PRECISION_BITS).coerceIn(0, 255).toByte()

    /** Per output pixel: first input index, tap count, and fixed-point weights (Pillow's layout). */
    private class Coefficients(val starts: IntArray, val counts: IntArray, val weights: IntArray, val taps: Int) {
        companion object {
            fun compute(inSize: Int, boxStart: Int, boxEnd: Int, outSize: Int): Coefficients {
                val scale = (boxEnd - boxStart).toDouble() / outSize
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

// benchmarks/kotlin_preprocess.py: today's ImagePreprocessing beside the previous one, same frames, same JVM.
package com.example.mnv3.previous

import com.example.mnv3.ImagePreprocessing
import com.example.mnv3.PixelSource

/**
 * Prints "array_today=MS array_previous=MS bitmap_today=MS bitmap_previous=MS identical=BOOL":
 * medians over interleaved runs after a warm-up. "array": from an IntArray already in memory.
 * "bitmap": as classify(bitmap) does it, with getPixels played by System.arraycopy (a lower
 * bound: Android's getPixels also un-premultiplies): previously one copy of the whole frame,
 * today the crop read through a PixelSource, band by band.
 */
fun main(args: Array<String>) {
    val (width, height, size, repeats) = args.take(4).map { it.toInt() }
    val warmups = args.getOrNull(4)?.toInt() ?: 10
    val random = java.util.Random(0)
    val frame = IntArray(width * height) { random.nextInt() }
    val bitmap = object : PixelSource {
        override val width = width
        override val height = height

        override fun readPixels(destination: IntArray, left: Int, top: Int, columns: Int, rows: Int) {
            for (row in 0 until rows) System.arraycopy(frame, (top + row) * width + left, destination, row * columns, columns)
        }
    }
    val cases = linkedMapOf<String, () -> ByteArray>(
        "array_today" to { ImagePreprocessing.preprocess(frame, width, height, size, 0.875) },
        "array_previous" to { PreviousPreprocessing.preprocess(frame, width, height, size, 0.875) },
        "bitmap_today" to { ImagePreprocessing.preprocess(bitmap, size, 0.875) },
        "bitmap_previous" to {
            val pixels = IntArray(width * height)
            bitmap.readPixels(pixels, 0, 0, width, height)
            PreviousPreprocessing.preprocess(pixels, width, height, size, 0.875)
        },
    )
    repeat(warmups) { cases.values.forEach { it() } }
    val times = cases.mapValues { DoubleArray(repeats) }
    for (run in 0 until repeats) { // interleaved, so drift hits every case alike
        for ((name, case) in cases) {
            val started = System.nanoTime()
            case()
            times.getValue(name)[run] = (System.nanoTime() - started) / 1e6
        }
    }
    // Equal only when the contract did not change for this frame size (no block reduction).
    val identical = cases.getValue("array_today")().contentEquals(cases.getValue("array_previous")())
    val medians = times.entries.joinToString(" ") { (name, values) -> "%s=%.3f".format(name, values.sorted()[repeats / 2]) }
    println("$medians identical=$identical")
}

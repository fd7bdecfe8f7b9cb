// benchmarks/kotlin_camera.py: the camera-frame path beside the bitmap path, same frame size, same JVM.
package com.example.mnv3.camera

import com.example.mnv3.ImagePreprocessing
import com.example.mnv3.PixelSource
import com.example.mnv3.PreprocessingBuffers
import com.example.mnv3.YuvFrame
import com.example.mnv3.YuvPlane
import java.lang.management.ManagementFactory
import java.nio.ByteBuffer

/**
 * Prints "yuv=MS bitmap=MS yuv_bytes=B bitmap_bytes=B yuv_new_bytes=B bitmap_new_bytes=B": medians
 * over interleaved runs after a warm-up, → size×size RGB bytes, as the classifier preprocesses
 * (its arrays reused from call to call), then the heap bytes allocated per call, by every thread
 * (the common pool runs bands and chroma), over as many calls: reusing the arrays, and with new
 * ones each call (`ImagePreprocessing.preprocess`, what every call allocated before the
 * classifier kept them).
 * "yuv": a YUV_420_888 frame as a phone's back camera delivers it (direct buffers, NV21-like
 * interleaved chroma of pixel stride 2, rows padded to 64 bytes, rotated 90°). "bitmap": the same
 * size of ARGB read through a PixelSource as classify(bitmap) reads a Bitmap (getPixels played by
 * System.arraycopy: a lower bound, Android's also un-premultiplies), so an app that converted the
 * frame to a Bitmap would pay this plus the conversion.
 */
fun main(args: Array<String>) {
    val (width, height, size, repeats, warmups) = args.take(5).map { it.toInt() }
    val random = java.util.Random(0)
    fun plane(rows: Int, rowStride: Int, lastRow: Int): ByteBuffer {
        val bytes = ByteArray((rows - 1) * rowStride + lastRow).also(random::nextBytes)
        return ByteBuffer.allocateDirect(bytes.size).put(bytes).also { it.position(0) }
    }
    val lumaStride = (width + 63) / 64 * 64
    val chromaWidth = (width + 1) / 2
    val chromaHeight = (height + 1) / 2
    val chromaStride = (2 * chromaWidth + 63) / 64 * 64
    val interleaved = plane(chromaHeight, chromaStride, 2 * chromaWidth)
    val frame = YuvFrame(
        width, height,
        YuvPlane(plane(height, lumaStride, width), lumaStride, 1),
        YuvPlane(interleaved.duplicate().also { it.position(1) }.slice(), chromaStride, 2),
        YuvPlane(interleaved.duplicate().also { it.limit(it.capacity() - 1) }.slice(), chromaStride, 2),
        90,
    )
    val argb = IntArray(width * height) { random.nextInt() }
    val bitmap = object : PixelSource {
        override val width = width
        override val height = height

        override fun readPixels(destination: IntArray, left: Int, top: Int, columns: Int, rows: Int) {
            for (row in 0 until rows) System.arraycopy(argb, (top + row) * width + left, destination, row * columns, columns)
        }
    }
    val yuvBuffers = PreprocessingBuffers()
    val bitmapBuffers = PreprocessingBuffers()
    val cases = linkedMapOf<String, () -> ByteArray>(
        "yuv" to { ImagePreprocessing.preprocess(frame, size, 0.875, yuvBuffers) },
        "bitmap" to { ImagePreprocessing.preprocess(bitmap, size, 0.875, bitmapBuffers) },
    )
    repeat(warmups) { cases.values.forEach { it() } }
    val times = cases.mapValues { DoubleArray(repeats) }
    for (run in 0 until repeats) { // interleaved, so drift hits both alike
        for ((name, case) in cases) {
            val started = System.nanoTime()
            case()
            times.getValue(name)[run] = (System.nanoTime() - started) / 1e6
        }
    }
    val allocation = linkedMapOf(
        "yuv_bytes" to cases.getValue("yuv"),
        "bitmap_bytes" to cases.getValue("bitmap"),
        "yuv_new_bytes" to { ImagePreprocessing.preprocess(frame, size, 0.875) },
        "bitmap_new_bytes" to { ImagePreprocessing.preprocess(bitmap, size, 0.875) },
    ).mapValues { (_, case) -> allocatedPerCall(repeats, case) }
    println(
        times.entries.joinToString(" ") { (name, values) -> "%s=%.3f".format(name, values.sorted()[repeats / 2]) } + " " +
            allocation.entries.joinToString(" ") { (name, bytes) -> "$name=$bytes" },
    )
}

/** Heap bytes allocated per call of [case] over [calls] calls, by all threads (bands run on the common pool). */
private fun allocatedPerCall(calls: Int, case: () -> ByteArray): Long {
    val before = allocatedByLiveThreads()
    repeat(calls) { case() }
    return (allocatedByLiveThreads() - before) / calls
}

// A pool worker that ended between the two readings would take its count with it; the common
// pool keeps its workers for a minute without work, far longer than a measurement.
private fun allocatedByLiveThreads(): Long {
    val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
    return threads.getThreadAllocatedBytes(threads.allThreadIds).filter { it > 0 }.sum()
}

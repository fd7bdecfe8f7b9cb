// Issue 23 item 11: every classify allocated a frame's worth of arrays (the pixels the filter
// reaches, the filter's passes), so a camera at 30 fps kept the garbage collector running. Counts
// the heap bytes a call allocates, on every thread, through the library's compiled classes.
package com.example.mnv3.robolectric

import com.example.mnv3.CameraFrame
import com.example.mnv3.ClassificationResult
import com.example.mnv3.LiveResult
import com.example.mnv3.LiveStreamListener
import com.example.mnv3.MobileNetV3Classifier
import com.example.mnv3.YuvPlane
import java.lang.management.ManagementFactory
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class AllocationTest {
    @Before
    fun setUp() = TestPrograms.reset()

    /**
     * A 224 px float32 model (as MobileNetV3's) whose forward reads the input tensor in place, as
     * ExecuTorch's native code does, so the bytes counted are the library's own.
     */
    private fun classifier(): MobileNetV3Classifier {
        val logits = FloatArray(TestModel.LABELS.size)
        val model = TestModel.fileReadingInPlace(TestModel.metadata(size = 224)) { input ->
            logits[0] = input.get(0)
            logits
        }
        return MobileNetV3Classifier.createFromFile(model)
    }

    /**
     * After a warm-up, a call allocates far less than one frame (under 5% of width × height × 4
     * bytes) and no more for 1280×720 than for 640×480 (the same few small objects), for a
     * bitmap, a camera `Image`, and frames through a live stream.
     */
    @Test
    fun steadyStateCallsAllocateNothingProportionalToTheFrame() {
        val sizes = listOf(640 to 480, 1280 to 720)
        val measured = LinkedHashMap<String, Long>()
        classifier().use { classifier ->
            for ((width, height) in sizes) {
                val bitmap = OrientationTest.randomBitmap(width, height, seed = 3)
                measured["bitmap $width×$height"] = allocatedPerCall { classifier.classify(bitmap) }
                val image = CameraImage(width, height, 1) { x, y -> (x * 7 + y * 13) % 256 }
                measured["camera $width×$height"] = allocatedPerCall { classifier.classify(image, 90) }
                measured["stream $width×$height"] = allocatedPerStreamFrame(classifier, width, height)
            }
        }
        val summary = measured.entries.joinToString { (name, bytes) -> "$name: $bytes B/call" }
        println("ALLOCATION $summary")
        for ((width, height) in sizes) {
            val limit = width * height * 4 / 20
            for (path in listOf("bitmap", "camera", "stream")) {
                val bytes = measured.getValue("$path $width×$height")
                assertTrue("$path $width×$height allocates $bytes B per call, over $limit ($summary)", bytes < limit)
            }
        }
        for (path in listOf("bitmap", "camera", "stream")) {
            val small = measured.getValue("$path 640×480")
            val large = measured.getValue("$path 1280×720")
            // 3× the pixels: a per-frame array would add over a megabyte; a few hundred bytes is noise.
            assertTrue("$path allocates $large B per 1280×720 call, $small per 640×480 ($summary)", large < small + 4096)
        }
    }

    /**
     * Calls on several threads at once each get arrays of their own: every result is the one
     * the same image gives alone, with the model's input a checksum of the whole tensor.
     */
    @Test
    fun concurrentCallsNeverShareTheirArrays() {
        val model = TestModel.file(TestModel.metadata(size = 224)) { input ->
            FloatArray(TestModel.LABELS.size) { label ->
                var sum = 0.0
                for (i in label until input.size step TestModel.LABELS.size) sum += input[i] * (i % 97)
                (sum / 1e7).toFloat()
            }
        }
        MobileNetV3Classifier.createFromFile(model).use { classifier ->
            val bitmaps = List(4) { OrientationTest.randomBitmap(640, 480, seed = 10L + it) }
            val expected = bitmaps.map { classifier.classify(it).categories }
            val threads = Executors.newFixedThreadPool(4)
            try {
                val calls = (0 until 40).map { call ->
                    val which = call % bitmaps.size
                    threads.submit(Callable { which to classifier.classify(bitmaps[which]) })
                }
                for (call in calls) {
                    val (which, result: ClassificationResult) = call.get(60, TimeUnit.SECONDS)
                    assertEquals("image $which", expected[which], result.categories)
                }
            } finally {
                threads.shutdownNow()
            }
        }
    }

    /**
     * CameraX-like frames submitted to a camera stream one after the other, each classified before
     * the next; the frames share their planes' buffers, as a camera's few recycled buffers do.
     */
    private fun allocatedPerStreamFrame(classifier: MobileNetV3Classifier, width: Int, height: Int): Long {
        val done = Semaphore(0)
        val listener = object : LiveStreamListener {
            override fun onResult(result: LiveResult) = done.release()
            override fun onError(error: Throwable, timestampNanos: Long) = throw AssertionError(error)
        }
        val planes = CameraImage(width, height, 0) { x, y -> (x * 5 + y * 3) % 256 }.planes
            .map { YuvPlane(it.buffer, it.rowStride, it.pixelStride) }
        var timestamp = 0L
        return classifier.openCameraStream(listener).use { stream ->
            allocatedPerCall {
                stream.submit(CameraFrame(width, height, planes, 90, null, ++timestamp, {}), timestamp)
                assertTrue("frame $timestamp classified", done.tryAcquire(30, TimeUnit.SECONDS))
            }
        }
    }

    /**
     * Heap bytes allocated per call of [call] after [WARMUP] calls (the JIT compiles the hot loops
     * and the arrays are sized), by the threads the library works on: this one, the common
     * fork-join pool's (bands of rows, chroma) and the live streams' thread; threads other test
     * classes left running are not counted. A pool worker that ended between the two readings
     * would take its count with it; the common pool keeps its workers for a minute without work,
     * far longer than a measurement.
     */
    private fun allocatedPerCall(call: () -> Unit): Long {
        repeat(WARMUP) { call() }
        val before = allocatedByLibraryThreads()
        repeat(CALLS) { call() }
        return (allocatedByLibraryThreads() - before) / CALLS
    }

    private fun allocatedByLibraryThreads(): Long {
        val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        val current = Thread.currentThread().id
        val ids = threads.getThreadInfo(threads.allThreadIds).filterNotNull().filter {
            it.threadId == current || it.threadName.startsWith("ForkJoinPool.commonPool") || it.threadName.endsWith("-live-stream")
        }.map { it.threadId }
        return threads.getThreadAllocatedBytes(ids.toLongArray()).filter { it > 0 }.sum()
    }

    private companion object {
        const val WARMUP = 30
        const val CALLS = 40
    }
}

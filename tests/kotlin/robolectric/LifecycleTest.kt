// Issue 23 item 1: closing the classifier while live streams are open, in every order, never
// throws on the camera's thread and closes every frame once. Runs the library's compiled classes
// on Robolectric against the ExecuTorch test double.
package com.example.mnv3.robolectric

import com.example.mnv3.LiveResult
import com.example.mnv3.LiveStreamListener
import com.example.mnv3.MobileNetV3Classifier
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class LifecycleTest : WatchedForCrashes() {
    private val results = Collections.synchronizedList(ArrayList<Long>())
    private val errors = Collections.synchronizedList(ArrayList<Throwable>())
    private val listener = object : LiveStreamListener {
        override fun onResult(result: LiveResult) {
            results.add(result.timestampNanos)
        }

        override fun onError(error: Throwable, timestampNanos: Long) {
            errors.add(error)
        }
    }

    private fun image(timestamp: Long) = CameraImage(16, 12, timestamp) { _, _ -> 100 }

    /** Submits on a thread of its own, as a camera callback does; returns what it threw. */
    private fun submitFromCamera(submit: () -> Unit): Throwable? {
        var thrown: Throwable? = null
        val camera = Thread { try { submit() } catch (error: Throwable) { thrown = error } }
        camera.start()
        camera.join()
        return thrown
    }

    @Test
    fun closingTheClassifierClosesItsStreamsAndLaterFramesAreDropped() {
        val model = TestModel.file()
        val classifier = MobileNetV3Classifier.createFromFile(model)
        val stream = classifier.openLiveStream(listener, 0)
        classifier.close()
        assertTrue("the stream reports closed", stream.isClosed)
        val frame = image(1)
        assertEquals(null, submitFromCamera { stream.submit(frame, 1) })
        assertEquals("the frame is closed once", 1, frame.closes.get())
        assertEquals(1L, stream.droppedFrames)
        stream.close() // the app's own close, after the classifier's: nothing more happens
        assertEquals(1, TestPrograms.closes.get())
    }

    @Test
    fun closingTheClassifierWaitsForTheFrameInFlightAndNoResultFollows() {
        val blocking = TestModel.Blocking()
        val inForward = blocking.inForward
        val proceed = blocking.proceed
        val model = blocking.file
        val classifier = MobileNetV3Classifier.createFromFile(model)
        val stream = classifier.openLiveStream(listener, 90)
        val first = image(1)
        val second = image(2)
        assertEquals(null, submitFromCamera { stream.submit(first, 1) })
        assertTrue(inForward.await(10, TimeUnit.SECONDS))
        assertEquals(null, submitFromCamera { stream.submit(second, 2) }) // waits behind the first
        val closer = Thread { classifier.close() }
        closer.start()
        // close() cannot return while the first frame is in the model: it blocks (on the model's
        // lock or in the stream's close), and only the model returning lets it go on.
        while (closer.state == Thread.State.NEW || closer.state == Thread.State.RUNNABLE) Thread.yield()
        assertTrue(closer.isAlive)
        proceed.countDown()
        closer.join(10_000)
        assertFalse(closer.isAlive)
        assertEquals(1, first.closes.get())
        assertEquals(1, second.closes.get())
        assertEquals(emptyList<Long>(), results.toList())
        assertEquals(1, TestPrograms.closes.get())
        val late = image(3)
        assertEquals(null, submitFromCamera { stream.submit(late, 3) })
        assertEquals(1, late.closes.get())
    }

    @Test
    fun everyOrderOfClosingIsSafe() {
        val model = TestModel.file()
        // Stream first, then the classifier, twice each.
        MobileNetV3Classifier.createFromFile(model).let { classifier ->
            val stream = classifier.openLiveStream(listener)
            stream.close()
            stream.close()
            classifier.close()
            classifier.close()
        }
        // The classifier from the stream's own listener, while frames keep coming.
        val closedInCallback = CountDownLatch(1)
        lateinit var classifier: MobileNetV3Classifier
        val stream = MobileNetV3Classifier.createFromFile(model).also { classifier = it }.openLiveStream(object : LiveStreamListener {
            override fun onResult(result: LiveResult) {
                classifier.close()
                closedInCallback.countDown()
            }

            override fun onError(error: Throwable, timestampNanos: Long) {
                errors.add(error)
            }
        })
        val frames = (1L..50L).map { image(it) }
        val thrown = submitFromCamera { frames.forEach { stream.submit(it, it.timestamp) } }
        assertEquals(null, thrown)
        assertTrue(closedInCallback.await(10, TimeUnit.SECONDS))
        stream.close()
        assertTrue(frames.all { it.closes.get() == 1 })
        assertEquals(2, TestPrograms.closes.get())
        try {
            classifier.openLiveStream(listener)
            fail("a closed classifier opened a stream")
        } catch (expected: IllegalStateException) {
        }
    }
}

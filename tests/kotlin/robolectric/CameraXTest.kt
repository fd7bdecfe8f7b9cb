// Issue 23 items 3 and 5: CameraX's ImageProxy goes in through the one-line adapter of CameraFrame's
// KDoc, compiled against the CameraX stand-in (tests/kotlin/camerax_standin/); the library closes
// every proxy exactly once on every path, and classifies only the crop rectangle.
package com.example.mnv3.robolectric

import android.graphics.ImageFormat
import android.graphics.Rect
import android.graphics.RectF
import android.media.Image
import androidx.camera.core.ExperimentalGetImage
import androidx.camera.core.ImageInfo
import androidx.camera.core.ImageProxy
import com.example.mnv3.CameraFrame
import com.example.mnv3.LiveResult
import com.example.mnv3.LiveStreamListener
import com.example.mnv3.MobileNetV3Classifier
import com.example.mnv3.YuvPlane
import java.nio.ByteBuffer
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

/** The adapter CameraFrame's KDoc gives apps, word for word. */
fun ImageProxy.toCameraFrame(uprightRegion: RectF? = null) = CameraFrame(width, height, planes.map { YuvPlane(it.buffer, it.rowStride, it.pixelStride) }, imageInfo.rotationDegrees, cropRect, imageInfo.timestamp, ::close, uprightRegion)

/**
 * An ImageProxy as ImageAnalysis hands one out: YUV_420_888 planes, crop rect, rotation and
 * timestamp in its ImageInfo, and no Image behind it (getImage() may return null). Counts close();
 * its planes cannot be read once closed, as CameraX's proxies throw then.
 */
class AnalysisProxy(
    override val width: Int,
    override val height: Int,
    rotationDegrees: Int,
    private var crop: Rect?,
    timestamp: Long,
    luma: (Int, Int) -> Int,
) : ImageProxy {
    val closes = AtomicInteger()
    private val y = ByteBuffer.allocateDirect(width * height).apply {
        for (row in 0 until height) for (x in 0 until width) put(luma(x, row).toByte())
        flip()
    }
    private val chroma = ByteBuffer.allocateDirect(((width + 1) / 2) * ((height + 1) / 2)).apply {
        while (hasRemaining()) put(128.toByte())
        flip()
    }

    override fun close() {
        closes.incrementAndGet()
    }

    override val cropRect: Rect get() = crop ?: Rect(0, 0, width, height)
    override fun setCropRect(rect: Rect?) {
        crop = rect
    }

    override val format = ImageFormat.YUV_420_888
    override val planes: Array<ImageProxy.PlaneProxy>
        get() {
            check(closes.get() == 0) { "Image is already closed" }
            return arrayOf(plane(y, width), plane(chroma, (width + 1) / 2), plane(chroma, (width + 1) / 2))
        }
    override val imageInfo: ImageInfo = object : ImageInfo {
        override val timestamp = timestamp
        override val rotationDegrees = rotationDegrees
    }

    @ExperimentalGetImage
    override val image: Image? = null

    private fun plane(buffer: ByteBuffer, rowStride: Int) = object : ImageProxy.PlaneProxy {
        override val rowStride = rowStride
        override val pixelStride = 1
        override val buffer: ByteBuffer = buffer.duplicate()
    }
}

@RunWith(RobolectricTestRunner::class)
class CameraXTest {
    @Before
    fun setUp() = TestPrograms.reset()

    // A dark 64×48 frame whose crop rectangle (40, 0)-(64, 24) is bright: the full frame's central
    // square is mostly dark (class 1 of byMeanRed), the crop rectangle all bright (class 9).
    private fun proxy(timestamp: Long = 1, rotation: Int = 90, crop: Rect? = Rect(40, 0, 64, 24)) =
        AnalysisProxy(64, 48, rotation, crop, timestamp) { x, y -> if (x >= 40 && y < 24) 250 else 0 }

    @Test
    fun aClassifiedProxyIsClosedOnceAndOnlyItsCropRectIsClassified() {
        MobileNetV3Classifier.createFromFile(TestModel.file()).use { classifier ->
            val proxy = proxy()
            val result = classifier.classify(proxy.toCameraFrame())
            assertEquals(1, proxy.closes.get())
            assertEquals("class9", result.categories.first().label)
            val whole = proxy(crop = null)
            assertEquals("class1", classifier.classify(whole.toCameraFrame()).categories.first().label)
        }
    }

    @Test
    fun aProxyIsClosedOnceWhenClassifyingFailsOrTheClassifierIsClosed() {
        val classifier = MobileNetV3Classifier.createFromFile(TestModel.file())
        val badRotation = proxy(rotation = 45)
        try {
            classifier.classify(badRotation.toCameraFrame())
            fail("rotation 45 was accepted")
        } catch (expected: IllegalArgumentException) {
        }
        assertEquals(1, badRotation.closes.get())
        classifier.close()
        val late = proxy()
        try {
            classifier.classify(late.toCameraFrame())
            fail("a closed classifier classified")
        } catch (expected: IllegalStateException) {
        }
        assertEquals(1, late.closes.get())
    }

    @Test
    fun aStreamClosesEveryProxyOnceAndTakesEachFramesRotation() {
        val blocking = TestModel.Blocking()
        val inForward = blocking.inForward
        val proceed = blocking.proceed
        val model = blocking.file
        val results = Collections.synchronizedList(ArrayList<String>())
        val twoResults = CountDownLatch(2)
        val errors = Collections.synchronizedList(ArrayList<Long>())
        MobileNetV3Classifier.createFromFile(model).use { classifier ->
            val stream = classifier.openCameraStream(object : LiveStreamListener {
                override fun onResult(result: LiveResult) {
                    results.add("${result.timestampNanos} ${result.classification.categories.first().label}")
                    twoResults.countDown()
                }

                override fun onError(error: Throwable, timestampNanos: Long) {
                    errors.add(timestampNanos)
                }
            })
            // The phone turns between frames: each proxy brings its rotation.
            val proxies = (1L..20L).map { proxy(it, rotation = listOf(0, 90, 180, 270, 45)[(it % 5).toInt()]) }
            val camera = Thread {
                for (proxy in proxies) {
                    proxy.toCameraFrame().let { stream.submit(it, it.timestampNanos) }
                    if (proxy.imageInfo.timestamp == 1L) inForward.await()
                }
            }
            camera.start()
            camera.join()
            proceed.countDown()
            assertTrue(twoResults.await(10, TimeUnit.SECONDS))
            stream.close()
            assertTrue(proxies.all { it.closes.get() == 1 })
            val afterClose = proxy(21)
            stream.submit(afterClose.toCameraFrame(), 21)
            assertEquals(1, afterClose.closes.get())
            // Frame 1 (turned 90°) was classified; 2-19 replaced one another while it was, the
            // invalid rotations among them too; 20 (0°) followed it.
            assertEquals(listOf("1 class9", "20 class9"), results.toList())
            assertEquals(emptyList<Long>(), errors.toList())
        }
        assertTrue(TestPrograms.closes.get() == 1)
    }
}

// Issue 23 item 5: only Image.getCropRect() is the picture (digital zoom, padded sensor buffers).
package com.example.mnv3.robolectric

import android.graphics.Rect
import com.example.mnv3.MobileNetV3Classifier
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class CropTest {
    @Before
    fun setUp() = TestPrograms.reset()

    private fun luma(x: Int, y: Int) = (x * 7 + y * 13) % 256

    /**
     * A frame with a crop rect is classified exactly as a frame holding only that part: the same
     * input tensor bytes (the logits are the tensor's first values), for every rotation.
     */
    @Test
    fun anImagesCropRectIsClassifiedAsAFrameOfItsOwn() {
        val model = TestModel.file { input -> FloatArray(TestModel.LABELS.size) { input[it * 5] / 16f } }
        MobileNetV3Classifier.createFromFile(model).use { classifier ->
            for (rotation in listOf(0, 90, 180, 270)) {
                val big = CameraImage(64, 48, 1) { x, y -> luma(x, y) }
                big.cropRect = Rect(20, 8, 52, 40)
                val small = CameraImage(32, 32, 2) { x, y -> luma(x + 20, y + 8) }
                val cropped = classifier.classify(big, rotation).categories
                assertEquals(classifier.classify(small, rotation).categories, cropped)
                val whole = CameraImage(64, 48, 3) { x, y -> luma(x, y) }
                assertNotEquals(classifier.classify(whole, rotation).categories, cropped)
            }
        }
    }
}

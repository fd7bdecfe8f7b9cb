// Issue 23 item 7: what is classified is what the preview shows, not the central square of the whole frame.
package com.example.mnv3.robolectric

import android.graphics.RectF
import com.example.mnv3.CameraFrame
import com.example.mnv3.ImageProcessingOptions
import com.example.mnv3.InvalidImageProcessingOptionsException
import com.example.mnv3.MobileNetV3Classifier
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class RegionOfInterestTest {
    /** Every input tensor the model was given, in order. */
    private val inputs = ArrayList<FloatArray>()

    @Before
    fun setUp() {
        TestPrograms.reset()
        inputs.clear()
    }

    private fun classifier() = MobileNetV3Classifier.createFromFile(
        TestModel.file { input ->
            inputs.add(input.copyOf())
            TestModel.byMeanRed(input)
        },
    )

    private fun luma(x: Int, y: Int) = (x * 7 + y * 13) % 256

    /**
     * A preview scaled to cover its view shows the centre of the upright picture with the view's
     * shape: a 480×640 picture in a 1080×1920 view is scaled by max(1080 / 480, 1920 / 640) = 3, so
     * 1080 / 3 = 360 of its 480 columns are seen (0.125..0.875) and all its rows. The frame as the
     * sensor stores it (640×480, turned 90° to upright) has that region in its rows.
     */
    @Test
    fun theVisibleRegionIsTheCentreOfTheUprightPictureWithTheViewsShape() {
        assertEquals(RectF(0.125f, 0f, 0.875f, 1f), ImageProcessingOptions.visibleRegion(480, 640, 1080, 1920))
        assertEquals(RectF(0f, 0.125f, 1f, 0.875f), ImageProcessingOptions.visibleRegion(640, 480, 1920, 1080))
        assertEquals(RectF(0f, 0f, 1f, 1f), ImageProcessingOptions.visibleRegion(640, 480, 1280, 960))
        val portrait = ImageProcessingOptions.visibleInView(640, 480, 90, 1080, 1920)
        assertEquals(RectF(0f, 0.125f, 1f, 0.875f), portrait.regionOfInterest)
        assertEquals(90, portrait.rotationDegrees)
        // Upright as stored (a landscape display): 640×480 in a tall view is scaled by 1920 / 480 = 4,
        // so 1080 / 4 = 270 of its 640 columns are seen.
        val upright = ImageProcessingOptions.visibleInView(640, 480, 0, 1080, 1920)
        assertEquals(RectF(185f / 640, 0f, 455f / 640, 1f), upright.regionOfInterest)
        for (sizes in listOf(intArrayOf(0, 480, 1080, 1920), intArrayOf(640, 480, 1080, -1))) {
            try {
                ImageProcessingOptions.visibleRegion(sizes[0], sizes[1], sizes[2], sizes[3])
                fail("sizes ${sizes.toList()} accepted")
            } catch (expected: InvalidImageProcessingOptionsException) {
            }
        }
    }

    /**
     * The camera demo's case: a back camera's 64×48 frame (sensor orientation 90) on a phone held
     * upright, previewed in a 900×1600 view. The preview shows upright columns 6..42 of 48 (scale
     * max(900 / 48, 1600 / 64) = 25, 900 / 25 = 36 columns), which are the frame's rows 6..42;
     * classified with [ImageProcessingOptions.visibleInView], the frame gives the very input tensor
     * of a frame holding only those rows, and without it (the central square of the whole frame),
     * another one.
     */
    @Test
    fun whatAPortraitPreviewShowsIsWhatIsClassified() {
        classifier().use { classifier ->
            for (rotation in listOf(90, 270)) {
                classifier.classify(CameraImage(64, 36, 1) { x, y -> luma(x, y + 6) }, rotation)
                val expected = inputs.last()
                val frame = CameraImage(64, 48, 2) { x, y -> luma(x, y) }
                classifier.classify(frame, ImageProcessingOptions.visibleInView(64, 48, rotation, 900, 1600))
                assertArrayEquals("rotation $rotation", expected, inputs.last(), 0f)
                classifier.classify(frame, rotation)
                assertFalse("rotation $rotation: the whole frame's square", expected.contentEquals(inputs.last()))
            }
        }
    }

    /**
     * A [CameraFrame] carries the region upright, so one region serves every frame whatever its
     * rotation; the frame is closed once, also when its region is refused.
     */
    @Test
    fun aCameraFramesUprightRegionIsClassifiedWhateverItsRotation() {
        val visible = ImageProcessingOptions.visibleRegion(48, 64, 900, 1600)
        classifier().use { classifier ->
            for (rotation in listOf(90, 270)) {
                classifier.classify(CameraImage(64, 36, 1) { x, y -> luma(x, y + 6) }, rotation)
                val expected = inputs.last()
                val image = CameraImage(64, 48, 2) { x, y -> luma(x, y) }
                classifier.classify(CameraFrame.of(image, rotation, visible))
                assertArrayEquals("rotation $rotation", expected, inputs.last(), 0f)
                assertEquals(1, image.closes.get())
            }
            val image = CameraImage(64, 48, 3) { x, y -> luma(x, y) }
            val calls = inputs.size
            try {
                classifier.classify(CameraFrame.of(image, 90, RectF(0.5f, 0f, 0.2f, 1f)))
                fail("an upside-down region accepted")
            } catch (expected: InvalidImageProcessingOptionsException) {
            }
            assertEquals(1, image.closes.get())
            assertEquals(calls, inputs.size)
        }
    }
}

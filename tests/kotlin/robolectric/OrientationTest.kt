// Issue 23 item 6: rotation per call (MediaPipe's ImageProcessingOptions) and EXIF orientation.
package com.example.mnv3.robolectric

import android.graphics.Bitmap
import android.graphics.Rect
import android.graphics.RectF
import android.net.Uri
import com.example.mnv3.ExifOrientation
import com.example.mnv3.ImageProcessingOptions
import com.example.mnv3.InvalidImageProcessingOptionsException
import com.example.mnv3.MobileNetV3Classifier
import java.io.File
import java.util.Random
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
class OrientationTest {
    /** Every input tensor the model was given, in order. */
    private val inputs = ArrayList<FloatArray>()

    @Before
    fun setUp() {
        TestPrograms.reset()
        inputs.clear()
    }

    private fun classifier(size: Int = 16) = MobileNetV3Classifier.createFromFile(
        TestModel.file(TestModel.metadata(size)) { input ->
            inputs.add(input.copyOf())
            TestModel.byMeanRed(input)
        },
    )

    /** The input tensor of classifying [bitmap] with [options]. */
    private fun MobileNetV3Classifier.tensorOf(bitmap: Bitmap, options: ImageProcessingOptions? = null): FloatArray {
        if (options == null) classify(bitmap) else classify(bitmap, options)
        return inputs.last()
    }

    /**
     * A bitmap stored sideways (as a camera that needs `rotation` clockwise to be upright stores
     * it), classified with that rotation, gives the very input tensor of the upright bitmap, for
     * every rotation (negative and over 360 too, as MediaPipe allows); without it, it does not.
     */
    @Test
    fun aRotatedBitmapClassifiesAsTheUprightOne() {
        val upright = randomBitmap(37, 53, seed = 1)
        classifier().use { classifier ->
            val expected = classifier.tensorOf(upright)
            for (rotation in listOf(0, 90, 180, 270, -90, 450)) {
                val stored = rotatedCounterClockwise(upright, rotation)
                assertArrayEquals("rotation $rotation", expected, classifier.tensorOf(stored, ImageProcessingOptions(rotationDegrees = rotation)), 0f)
                if (Math.floorMod(rotation, 360) != 0) {
                    assertFalse("rotation $rotation ignored", expected.contentEquals(classifier.tensorOf(stored)))
                }
            }
            // The Java builder, and the IntArray overload, agree.
            val stored = rotatedCounterClockwise(upright, 90)
            val pixels = IntArray(stored.width * stored.height).also { stored.getPixels(it, 0, stored.width, 0, 0, stored.width, stored.height) }
            classifier.classify(pixels, stored.width, stored.height, ImageProcessingOptions.builder().setRotationDegrees(90).build())
            assertArrayEquals(expected, inputs.last(), 0f)
        }
    }

    /** A rotation that is not a multiple of 90 is refused with the library's exception, before any pixel is read. */
    @Test
    fun aRotationThatIsNotAQuarterTurnIsRefused() {
        for (degrees in listOf(45, 1, -91)) {
            try {
                ImageProcessingOptions(rotationDegrees = degrees)
                fail("rotation $degrees accepted")
            } catch (expected: InvalidImageProcessingOptionsException) {
                assertEquals("rotationDegrees must be a multiple of 90, got $degrees", expected.message)
            }
        }
    }

    /**
     * JPEGs written by Pillow with each EXIF orientation (1-8) and a PNG without one (the test's
     * fixture writes them): the helper reads them with the framework's android.media.ExifInterface
     * from a stream and from a file:// Uri, and maps them as androidx's
     * ExifInterface.getRotationDegrees does (5 and 6: 90; 3 and 4: 180; 7 and 8: 270).
     */
    @Test
    fun exifOrientationGivesTheRotationToUpright() {
        val folder = File(System.getProperty("mnv3.test.exif")!!)
        val expected = mapOf(1 to 0, 2 to 0, 3 to 180, 4 to 180, 5 to 90, 6 to 90, 7 to 270, 8 to 270)
        for ((orientation, degrees) in expected) {
            val photo = File(folder, "orientation-$orientation.jpg")
            assertEquals("stream, orientation $orientation", degrees, photo.inputStream().use(ExifOrientation::rotationDegrees))
            assertEquals("Uri, orientation $orientation", degrees, ExifOrientation.rotationDegrees(TestModel.context(), Uri.fromFile(photo)))
        }
        assertEquals(0, File(folder, "no-exif.png").inputStream().use(ExifOrientation::rotationDegrees))
        assertEquals(0, File(folder, "no-exif.jpg").inputStream().use(ExifOrientation::rotationDegrees))
    }

    /**
     * A region the user sees in the upright picture ([ImageProcessingOptions.fromUprightRegion]) of
     * a bitmap stored sideways is the same pixels as that region of the upright bitmap.
     */
    @Test
    fun anUprightRegionOfASidewaysBitmapIsThatRegionOfTheUprightOne() {
        val upright = randomBitmap(40, 60, seed = 2)
        val seen = RectF(0.25f, 0.1f, 0.75f, 0.6f) // 10..30 × 6..36 of the upright bitmap
        classifier().use { classifier ->
            val expected = classifier.tensorOf(upright, ImageProcessingOptions(Rect(10, 6, 30, 36)))
            assertArrayEquals(expected, classifier.tensorOf(upright, ImageProcessingOptions(seen)), 0f)
            for (rotation in listOf(90, 180, 270)) {
                val stored = rotatedCounterClockwise(upright, rotation)
                assertArrayEquals("rotation $rotation", expected,
                    classifier.tensorOf(stored, ImageProcessingOptions.fromUprightRegion(seen, rotation)), 0f)
            }
        }
    }

    companion object {
        fun randomBitmap(width: Int, height: Int, seed: Long): Bitmap {
            val random = Random(seed)
            val pixels = IntArray(width * height) { random.nextInt() or (0xFF shl 24) }
            return Bitmap.createBitmap(pixels, width, height, Bitmap.Config.ARGB_8888)
        }

        /** [upright] turned [degrees] counter-clockwise: what a turn of [degrees] clockwise makes upright. */
        fun rotatedCounterClockwise(upright: Bitmap, degrees: Int): Bitmap {
            var image = upright
            repeat(Math.floorMod(degrees, 360) / 90) {
                val width = image.width
                val height = image.height
                val from = IntArray(width * height).also { image.getPixels(it, 0, width, 0, 0, width, height) }
                // Counter-clockwise: pixel (x, y) goes to (y, width - 1 - x) of the height×width result.
                val to = IntArray(width * height)
                for (y in 0 until height) for (x in 0 until width) to[(width - 1 - x) * height + y] = from[y * width + x]
                image = Bitmap.createBitmap(to, height, width, Bitmap.Config.ARGB_8888)
            }
            return image
        }
    }
}

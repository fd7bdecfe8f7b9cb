package com.example.mnv3

import android.graphics.Rect
import android.graphics.RectF
import android.media.Image
import java.io.Closeable
import java.util.concurrent.atomic.AtomicBoolean

/**
 * One camera frame handed to the classifier, which closes it exactly once, however it ends:
 * classified, replaced by a newer frame in a [LiveStream], refused, failed, or given to a closed
 * classifier. Carries what CameraX's `ImageProxy` and Camera2's `Image` say about the frame: its
 * YUV_420_888 planes, the clockwise rotation that makes it upright, the crop rectangle (the part
 * of the buffer that is the picture) and the timestamp.
 *
 * CameraX adapts in one line (no CameraX dependency in this library; `ImageProxy.getImage()`
 * may be null, its planes never are):
 * ```
 * fun ImageProxy.toCameraFrame(uprightRegion: RectF? = null) = CameraFrame(width, height, planes.map { YuvPlane(it.buffer, it.rowStride, it.pixelStride) }, imageInfo.rotationDegrees, cropRect, imageInfo.timestamp, ::close, uprightRegion)
 * ```
 * and Camera2 with [of]. An `ImageAnalysis` has few buffers and stops delivering frames once they
 * are all held, which is why the frame, not the caller, is closed by the library.
 *
 * The classifier takes the central square of the picture, which is not what a preview shows when
 * the view's shape differs from the frame's: pass the preview's visible part as [uprightRegion]
 * (`proxy.toCameraFrame(ImageProcessingOptions.visibleRegion(uprightWidth, uprightHeight,
 * previewView.width, previewView.height))`), or bind CameraX's use cases with
 * `previewView.viewPort`, which makes the crop rectangle the visible part.
 *
 * @property rotationDegrees the clockwise rotation to upright: 0, 90, 180 or 270
 *   (`imageInfo.rotationDegrees`; with Camera2, from the sensor and display orientations).
 * @param cropRect the picture's part of the buffer, in buffer pixels; null for all of it.
 * @param uprightRegion the part of the upright picture to classify, see [uprightRegion].
 * @property timestampNanos the frame's time, for [LiveStream.submit].
 */
class CameraFrame @JvmOverloads constructor(
    val width: Int,
    val height: Int,
    planes: List<YuvPlane>,
    val rotationDegrees: Int,
    cropRect: Rect?,
    val timestampNanos: Long,
    private val onClose: Runnable,
    uprightRegion: RectF? = null,
) : Closeable {
    private val closed = AtomicBoolean()
    private val planes = planes.toList()

    /** The picture's part of the buffer, or null for all of it. A copy: [Rect] is mutable. */
    val cropRect: Rect? = cropRect?.let(::Rect)

    /**
     * The part of the upright picture to classify, normalised to it (0..1 of the crop rectangle
     * turned by [rotationDegrees]): what the user sees, such as
     * [ImageProcessingOptions.visibleRegion] of the preview's view; null for the whole picture.
     * Given upright, it stays right when the phone turns and the frames' rotation changes. A copy:
     * [RectF] is mutable. Checked when the frame is classified (the frame is then closed).
     */
    val uprightRegion: RectF? = uprightRegion?.let(::RectF)

    init {
        require(planes.size == 3) { "a YUV_420_888 frame has 3 planes, got ${planes.size}" }
    }

    /**
     * The frame as [YuvFrame]: the crop rectangle's part (and of that, the [uprightRegion]),
     * turned by [rotationDegrees].
     *
     * @throws InvalidImageProcessingOptionsException if the upright region is empty, upside down,
     *   not within 0..1 or covers less than a pixel.
     */
    fun toYuvFrame(): YuvFrame {
        val whole = YuvFrame(width, height, planes[0], planes[1], planes[2], rotationDegrees)
        val crop = cropRect
        val picture = if (crop == null) whole else whole.cropped(crop.left, crop.top, crop.right, crop.bottom)
        val upright = uprightRegion ?: return picture
        val region = ImageProcessingOptions.fromUprightRegion(upright, rotationDegrees).regionIn(picture.width, picture.height)
        return picture.cropped(region.left, region.top, region.right, region.bottom)
    }

    /** Gives the frame back to the camera; only the first call does anything. */
    override fun close() {
        if (closed.compareAndSet(false, true)) onClose.run()
    }

    /** Whether [close] was called. */
    val isClosed: Boolean get() = closed.get()

    companion object {
        /**
         * A frame of a YUV_420_888 `Image` (Camera2's `ImageReader`): its planes, crop rectangle and
         * timestamp, and the [uprightRegion] to classify; closing the frame closes the image.
         *
         * @throws IllegalArgumentException if the image is not YUV_420_888 (it is closed first).
         */
        @JvmStatic
        @JvmOverloads
        fun of(image: Image, rotationDegrees: Int, uprightRegion: RectF? = null): CameraFrame {
            if (image.format != android.graphics.ImageFormat.YUV_420_888) {
                val format = image.format
                image.close()
                throw IllegalArgumentException("expected a YUV_420_888 image (ImageFormat 35), got format $format")
            }
            val planes = image.planes.map { YuvPlane(it.buffer, it.rowStride, it.pixelStride) }
            return CameraFrame(image.width, image.height, planes, rotationDegrees, image.cropRect, image.timestamp, image::close, uprightRegion)
        }
    }
}

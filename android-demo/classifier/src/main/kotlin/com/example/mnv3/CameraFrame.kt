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
 * fun ImageProxy.toCameraFrame() = CameraFrame(width, height, planes.map { YuvPlane(it.buffer, it.rowStride, it.pixelStride) }, imageInfo.rotationDegrees, cropRect, imageInfo.timestamp, ::close)
 * ```
 * and Camera2 with [of]. An `ImageAnalysis` has few buffers and stops delivering frames once they
 * are all held, which is why the frame, not the caller, is closed by the library.
 *
 * @property rotationDegrees the clockwise rotation to upright: 0, 90, 180 or 270
 *   (`imageInfo.rotationDegrees`; with Camera2, from the sensor and display orientations).
 * @property cropRect the picture's part of the buffer, in buffer pixels; null for all of it.
 * @property timestampNanos the frame's time, for [LiveStream.submit].
 */
class CameraFrame(
    val width: Int,
    val height: Int,
    planes: List<YuvPlane>,
    val rotationDegrees: Int,
    val cropRect: Rect?,
    val timestampNanos: Long,
    private val onClose: Runnable,
) : Closeable {
    private val closed = AtomicBoolean()
    private val planes = planes.toList()

    init {
        require(planes.size == 3) { "a YUV_420_888 frame has 3 planes, got ${planes.size}" }
    }

    /**
     * The part of the picture (the crop rectangle) to classify, normalised to it and in the
     * sensor's orientation, before the rotation, as [ImageProcessingOptions.regionOfInterest]; null
     * (the default) for all of it. Set it before handing the frame over; to classify what the
     * preview shows: `ImageProcessingOptions.fromUprightRegion(visible, frame.rotationDegrees).regionOfInterest`.
     *
     * @throws InvalidImageProcessingOptionsException when set to a region that is empty, upside
     *   down or not within 0..1.
     */
    var regionOfInterest: RectF? = null
        set(value) {
            field = value?.let { ImageProcessingOptions(it).regionOfInterest }
        }

    /**
     * The frame as [YuvFrame]: the crop rectangle's part (and of that, the [regionOfInterest]),
     * turned by [rotationDegrees].
     *
     * @throws InvalidImageProcessingOptionsException if the region covers less than a pixel.
     */
    fun toYuvFrame(): YuvFrame {
        val whole = YuvFrame(width, height, planes[0], planes[1], planes[2], rotationDegrees)
        val crop = cropRect
        val picture = if (crop == null) whole else whole.cropped(crop.left, crop.top, crop.right, crop.bottom)
        val region = regionOfInterest ?: return picture
        val pixels = ImageProcessingOptions(region).regionIn(picture.width, picture.height)
        return picture.cropped(pixels.left, pixels.top, pixels.right, pixels.bottom)
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
         * timestamp; closing the frame closes the image.
         *
         * @throws IllegalArgumentException if the image is not YUV_420_888 (it is closed first).
         */
        @JvmStatic
        fun of(image: Image, rotationDegrees: Int): CameraFrame {
            if (image.format != android.graphics.ImageFormat.YUV_420_888) {
                val format = image.format
                image.close()
                throw IllegalArgumentException("expected a YUV_420_888 image (ImageFormat 35), got format $format")
            }
            val planes = image.planes.map { YuvPlane(it.buffer, it.rowStride, it.pixelStride) }
            return CameraFrame(image.width, image.height, planes, rotationDegrees, image.cropRect, image.timestamp, image::close)
        }
    }
}

package com.example.mnv3

import android.graphics.Rect
import android.graphics.RectF

/**
 * Which part of an image to classify and how to turn it upright, per call (MediaPipe's
 * `ImageProcessingOptions`): the region of interest is cut from the image as it is stored (a
 * camera frame as the sensor delivers it, a bitmap as decoded), then rotated [rotationDegrees]
 * clockwise; the classifier then takes the central square of that upright region, as it does of a
 * whole image. Without a region, the whole image (a camera frame's crop rectangle) is used.
 *
 * The region is given either normalised ([regionOfInterest], MediaPipe's convention: 0..1 of the
 * image's width and height) or in pixels ([pixelRegionOfInterest]), never both. A normalised
 * region becomes the pixels between its edges rounded to the nearest pixel edge. For a region
 * seen on screen, in the upright picture, use [fromUprightRegion]; for what a camera preview
 * shows, [visibleInView].
 *
 * ```
 * val upright = ImageProcessingOptions(rotationDegrees = ExifOrientation.rotationDegrees(context, uri))
 * classifier.classify(bitmap, upright)
 * classifier.classify(bitmap, ImageProcessingOptions(RectF(0.25f, 0.25f, 0.75f, 0.75f)))
 * ```
 *
 * @property regionOfInterest normalised: `0 <= left < right <= 1`, `0 <= top < bottom <= 1`.
 * @property pixelRegionOfInterest in the image's pixels; checked against the image's size when it
 *   is classified.
 * @property rotationDegrees clockwise, a multiple of 90 (negative ones too), kept as 0, 90, 180 or 270.
 * @throws InvalidImageProcessingOptionsException for a region that is empty, upside down, not
 *   finite or outside 0..1, for both kinds of region at once, or a rotation that is not a multiple of 90.
 */
class ImageProcessingOptions private constructor(
    regionOfInterest: RectF?,
    pixelRegionOfInterest: Rect?,
    rotationDegrees: Int,
) {
    /** Normalised region, or null. A copy: [RectF] is mutable. */
    val regionOfInterest: RectF? = regionOfInterest?.let(::RectF)

    /** Region in pixels, or null. A copy: [Rect] is mutable. */
    val pixelRegionOfInterest: Rect? = pixelRegionOfInterest?.let(::Rect)

    val rotationDegrees: Int = validRotation(rotationDegrees)

    /** A normalised region (or the whole image when null) rotated [rotationDegrees] clockwise. */
    @JvmOverloads
    constructor(regionOfInterest: RectF? = null, rotationDegrees: Int = 0) : this(regionOfInterest, null, rotationDegrees)

    /** A region in pixels rotated [rotationDegrees] clockwise. */
    @JvmOverloads
    constructor(pixelRegionOfInterest: Rect, rotationDegrees: Int = 0) : this(null, pixelRegionOfInterest, rotationDegrees)

    init {
        this.regionOfInterest?.let { region ->
            val finite = listOf(region.left, region.top, region.right, region.bottom).all { it.isFinite() }
            if (!finite || region.left < 0f || region.top < 0f || region.right > 1f || region.bottom > 1f ||
                region.left >= region.right || region.top >= region.bottom
            ) {
                throw InvalidImageProcessingOptionsException(
                    "regionOfInterest $region must have 0 <= left < right <= 1 and 0 <= top < bottom <= 1 " +
                        "(normalised; use a Rect for pixels)",
                )
            }
        }
        this.pixelRegionOfInterest?.let { region ->
            if (region.left < 0 || region.top < 0 || region.left >= region.right || region.top >= region.bottom) {
                throw InvalidImageProcessingOptionsException(
                    "pixelRegionOfInterest $region must have 0 <= left < right and 0 <= top < bottom",
                )
            }
        }
    }

    /**
     * The region in pixels of a [width]×[height] image (as stored, before the rotation): the whole
     * image without a region.
     *
     * @throws InvalidImageProcessingOptionsException if a pixel region does not fit in the image, or
     *   a normalised one covers less than a pixel.
     */
    fun regionIn(width: Int, height: Int): Rect {
        pixelRegionOfInterest?.let { region ->
            if (region.right > width || region.bottom > height) {
                throw InvalidImageProcessingOptionsException(
                    "pixelRegionOfInterest $region is not inside the ${width}×$height image",
                )
            }
            return Rect(region)
        }
        val region = regionOfInterest ?: return Rect(0, 0, width, height)
        val pixels = Rect(edge(region.left, width), edge(region.top, height), edge(region.right, width), edge(region.bottom, height))
        if (pixels.isEmpty) {
            throw InvalidImageProcessingOptionsException(
                "regionOfInterest $region covers less than a pixel of the ${width}×$height image",
            )
        }
        return pixels
    }

    override fun equals(other: Any?): Boolean = other is ImageProcessingOptions &&
        other.regionOfInterest == regionOfInterest && other.pixelRegionOfInterest == pixelRegionOfInterest &&
        other.rotationDegrees == rotationDegrees

    override fun hashCode(): Int = listOf(regionOfInterest, pixelRegionOfInterest, rotationDegrees).hashCode()

    override fun toString(): String {
        val region = regionOfInterest?.toString() ?: pixelRegionOfInterest?.let { "pixels $it" } ?: "whole image"
        return "ImageProcessingOptions($region, rotationDegrees=$rotationDegrees)"
    }

    /** Builds [ImageProcessingOptions] from Java; unset fields keep their defaults. */
    class Builder {
        private var regionOfInterest: RectF? = null
        private var pixelRegionOfInterest: Rect? = null
        private var rotationDegrees = 0

        /** See [ImageProcessingOptions.regionOfInterest]. */
        fun setRegionOfInterest(region: RectF?): Builder = apply { regionOfInterest = region }

        /** See [ImageProcessingOptions.pixelRegionOfInterest]. */
        fun setPixelRegionOfInterest(region: Rect?): Builder = apply { pixelRegionOfInterest = region }

        /** See [ImageProcessingOptions.rotationDegrees]. */
        fun setRotationDegrees(degrees: Int): Builder = apply { rotationDegrees = degrees }

        /** @throws InvalidImageProcessingOptionsException as the constructors do, or if both regions are set. */
        fun build(): ImageProcessingOptions {
            if (regionOfInterest != null && pixelRegionOfInterest != null) {
                throw InvalidImageProcessingOptionsException("set regionOfInterest or pixelRegionOfInterest, not both")
            }
            return ImageProcessingOptions(regionOfInterest, pixelRegionOfInterest, rotationDegrees)
        }
    }

    companion object {
        /** The whole image, as it is stored. */
        @JvmField
        val DEFAULT = ImageProcessingOptions()

        /** A builder of options from Java. */
        @JvmStatic
        fun builder(): Builder = Builder()

        /**
         * Options for a region given in the *upright* picture (what the user sees: a preview's
         * visible part, a box drawn on screen), normalised to it, of an image stored
         * [rotationDegrees] away from upright: the region is mapped back into the stored image's
         * coordinates, where MediaPipe's convention puts it, and the rotation kept.
         *
         * @throws InvalidImageProcessingOptionsException for a region or rotation the constructor refuses.
         */
        @JvmStatic
        fun fromUprightRegion(upright: RectF, rotationDegrees: Int): ImageProcessingOptions {
            val rotation = validRotation(rotationDegrees)
            val stored = when (rotation) {
                0 -> RectF(upright)
                90 -> RectF(upright.top, 1f - upright.right, upright.bottom, 1f - upright.left)
                180 -> RectF(1f - upright.right, 1f - upright.bottom, 1f - upright.left, 1f - upright.top)
                else -> RectF(1f - upright.bottom, upright.left, 1f - upright.top, upright.right)
            }
            return ImageProcessingOptions(stored, rotation)
        }

        /**
         * Options that classify what a preview of [viewWidth]×[viewHeight] shows of a camera
         * frame, where the preview fills its view and crops the overflow equally on both sides:
         * CameraX's `PreviewView` in its default FILL_CENTER, or a `TextureView` scaled to cover
         * its view (the camera demo). Without them the classifier takes the central square of the
         * whole frame, which on a phone held upright is wider than what the screen shows.
         *
         * The frame is [pictureWidth]×[pictureHeight] as the sensor delivers it (its crop
         * rectangle's size; only the aspect ratio matters) and needs [rotationDegrees] clockwise
         * to be upright, as passed to `classify`. The preview must show the same field of view as
         * the frames, which it does when both streams have the same aspect ratio. For CameraX,
         * binding the use cases with `previewView.viewPort` (a `UseCaseGroup`) instead makes each
         * `ImageProxy`'s crop rectangle the visible part, which the classifier already honours.
         *
         * ```
         * val crop = image.cropRect
         * val options = ImageProcessingOptions.visibleInView(crop.width(), crop.height(), rotation, preview.width, preview.height)
         * classifier.classify(image, options)
         * ```
         *
         * @throws InvalidImageProcessingOptionsException if a size is not positive or the rotation
         *   is not a multiple of 90.
         */
        @JvmStatic
        fun visibleInView(pictureWidth: Int, pictureHeight: Int, rotationDegrees: Int, viewWidth: Int, viewHeight: Int): ImageProcessingOptions {
            val rotation = validRotation(rotationDegrees)
            val sideways = rotation % 180 == 90
            val upright = visibleRegion(
                if (sideways) pictureHeight else pictureWidth,
                if (sideways) pictureWidth else pictureHeight,
                viewWidth,
                viewHeight,
            )
            return fromUprightRegion(upright, rotation)
        }

        /**
         * The part of an upright picture of [pictureWidth]×[pictureHeight] that a view of
         * [viewWidth]×[viewHeight] shows when the picture is scaled to cover the view and the
         * overflow is cropped equally on both sides (FILL_CENTER), normalised to the picture: the
         * centre of the picture with the view's aspect ratio. For a [CameraFrame], which carries
         * its own rotation, this is its `uprightRegion`.
         *
         * @throws InvalidImageProcessingOptionsException if a size is not positive.
         */
        @JvmStatic
        fun visibleRegion(pictureWidth: Int, pictureHeight: Int, viewWidth: Int, viewHeight: Int): RectF {
            if (pictureWidth <= 0 || pictureHeight <= 0 || viewWidth <= 0 || viewHeight <= 0) {
                throw InvalidImageProcessingOptionsException(
                    "sizes must be positive: picture ${pictureWidth}×$pictureHeight, view ${viewWidth}×$viewHeight",
                )
            }
            // Scaled by the larger of the two ratios: one axis fits the view, the other overflows it.
            val scale = maxOf(viewWidth.toDouble() / pictureWidth, viewHeight.toDouble() / pictureHeight)
            val shownWidth = minOf(1.0, viewWidth / (pictureWidth * scale)).toFloat()
            val shownHeight = minOf(1.0, viewHeight / (pictureHeight * scale)).toFloat()
            return RectF((1f - shownWidth) / 2, (1f - shownHeight) / 2, (1f + shownWidth) / 2, (1f + shownHeight) / 2)
        }

        private fun validRotation(degrees: Int): Int {
            if (degrees % 90 != 0) {
                throw InvalidImageProcessingOptionsException("rotationDegrees must be a multiple of 90, got $degrees")
            }
            return Math.floorMod(degrees, 360)
        }

        /** The pixel edge nearest to [fraction] of [size] (halves round up). */
        private fun edge(fraction: Float, size: Int): Int = Math.floor(fraction.toDouble() * size + 0.5).toInt().coerceIn(0, size)
    }
}

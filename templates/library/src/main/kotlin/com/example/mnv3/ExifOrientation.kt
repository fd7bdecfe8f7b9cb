package com.example.mnv3

import android.content.Context
import android.media.ExifInterface
import android.net.Uri
import java.io.FileNotFoundException
import java.io.IOException
import java.io.InputStream

/**
 * The rotation that turns a photo upright, from the orientation its camera wrote in its EXIF data:
 * `BitmapFactory` decodes the pixels as stored, so a portrait photo from most phones decodes
 * sideways. Pass the result to [ImageProcessingOptions]:
 * ```
 * val bitmap = context.contentResolver.openInputStream(uri).use(BitmapFactory::decodeStream)
 * val rotation = ExifOrientation.rotationDegrees(context, uri)
 * classifier.classify(bitmap, ImageProcessingOptions(rotationDegrees = rotation))
 * ```
 * A decoder that applies the EXIF orientation itself (some image-loading libraries do) already
 * gives an upright bitmap: pass 0 then, or the photo is turned twice.
 *
 * The mirrored orientations (2, 4, 5, 7: a rotation and a flip) give their rotation, as androidx's
 * `ExifInterface.getRotationDegrees` does; the flip is not undone.
 * A mirror image is what the model's training saw half the time (torchvision's ImageNet recipe
 * flips at random), so classifying it unflipped is harmless. Reads the framework's
 * `android.media.ExifInterface` (JPEG, HEIF, PNG, WebP and raw formats), no AndroidX.
 */
object ExifOrientation {
    /**
     * The clockwise rotation (0, 90, 180 or 270) that makes the image in [stream] upright; 0 when
     * it has no EXIF orientation (most PNGs, screenshots). Reads only the metadata, not the pixels;
     * the stream is left open, at an unspecified position.
     *
     * @throws IOException if the stream cannot be read.
     */
    @JvmStatic
    @Throws(IOException::class)
    fun rotationDegrees(stream: InputStream): Int =
        rotationDegreesOf(ExifInterface(stream).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL))

    /**
     * The rotation that makes the image at [uri] (a `content://` Uri from the photo picker, a
     * `file://` one) upright; see the stream overload.
     *
     * @throws FileNotFoundException if [uri] cannot be opened.
     * @throws IOException if it cannot be read.
     */
    @JvmStatic
    @Throws(IOException::class)
    fun rotationDegrees(context: Context, uri: Uri): Int {
        val stream = context.contentResolver.openInputStream(uri) ?: throw FileNotFoundException("cannot open $uri")
        return stream.use(::rotationDegrees)
    }

    /**
     * The clockwise rotation for an EXIF orientation value (TIFF tag 274): 6 and 5 are 90, 3 and
     * 4 are 180, 8 and 7 are 270, anything else 0 (androidx's `ExifInterface.getRotationDegrees`).
     */
    @JvmStatic
    fun rotationDegreesOf(orientation: Int): Int = when (orientation) {
        ExifInterface.ORIENTATION_ROTATE_90, ExifInterface.ORIENTATION_TRANSPOSE -> 90
        ExifInterface.ORIENTATION_ROTATE_180, ExifInterface.ORIENTATION_FLIP_VERTICAL -> 180
        ExifInterface.ORIENTATION_ROTATE_270, ExifInterface.ORIENTATION_TRANSVERSE -> 270
        else -> 0
    }
}

// Compile-only stand-in of CameraX's androidx.camera.core.ImageProxy (see ../../../../README.md):
// the JVM signatures of camera/camera-core/src/main/java/androidx/camera/core/ImageProxy.java.
package androidx.camera.core

import android.graphics.Rect
import android.media.Image
import java.nio.ByteBuffer

interface ImageProxy : AutoCloseable {
    override fun close()

    val cropRect: Rect

    fun setCropRect(rect: Rect?)

    val format: Int
    val height: Int
    val width: Int
    val planes: Array<PlaneProxy>

    interface PlaneProxy {
        val rowStride: Int
        val pixelStride: Int
        val buffer: ByteBuffer
    }

    val imageInfo: ImageInfo

    @ExperimentalGetImage
    val image: Image?
}

/** ImageInfo.java: the metadata of an image. */
interface ImageInfo {
    val timestamp: Long
    val rotationDegrees: Int
}

/** ExperimentalGetImage.java: getImage() needs an opt-in. */
@RequiresOptIn
@Retention(AnnotationRetention.BINARY)
annotation class ExperimentalGetImage

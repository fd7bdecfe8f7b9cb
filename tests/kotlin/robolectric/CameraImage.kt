// A YUV_420_888 android.media.Image as an ImageReader hands one out (the framework's own abstract
// Image, subclassed as ImageReader's SurfaceImage is): planes over direct buffers, a crop rect, a
// timestamp; it counts its close() calls, and reading a closed image throws as the real one does.
package com.example.mnv3.robolectric

import android.graphics.ImageFormat
import android.media.Image
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicInteger

class CameraImage(
    private val width: Int,
    private val height: Int,
    private val timestamp: Long,
    /** The luma of pixel (x, y); chroma is neutral (128), so RGB = (Y, Y, Y). */
    luma: (Int, Int) -> Int,
) : Image() {
    val closes = AtomicInteger()
    private val y = direct(ByteArray(width * height) { luma(it % width, it / width).toByte() })
    private val chromaWidth = (width + 1) / 2
    private val chroma = direct(ByteArray(chromaWidth * ((height + 1) / 2)) { 128.toByte() })

    init {
        mIsImageValid = true
    }

    override fun getFormat() = ImageFormat.YUV_420_888
    override fun getWidth() = width
    override fun getHeight() = height
    override fun getTimestamp() = timestamp
    override fun getTransform() = 0
    override fun getScalingMode() = 0

    override fun getPlanes(): Array<Plane> {
        throwISEIfImageIsInvalid()
        return arrayOf(plane(y, width, 1), plane(chroma, chromaWidth, 1), plane(chroma, chromaWidth, 1))
    }

    override fun close() {
        closes.incrementAndGet()
        mIsImageValid = false
    }

    private fun plane(buffer: ByteBuffer, rowStride: Int, pixelStride: Int) = object : Plane() {
        override fun getRowStride() = rowStride
        override fun getPixelStride() = pixelStride
        override fun getBuffer(): ByteBuffer = buffer.duplicate()
    }

    private companion object {
        fun direct(bytes: ByteArray): ByteBuffer = ByteBuffer.allocateDirect(bytes.size).put(bytes).apply { flip() }
    }
}

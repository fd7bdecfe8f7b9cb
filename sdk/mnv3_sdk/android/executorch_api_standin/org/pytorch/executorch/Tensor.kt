// Compile-only stand-in for ExecuTorch 1.5.x's org.pytorch.executorch.Tensor (see README.md).
package org.pytorch.executorch

abstract class Tensor internal constructor(@JvmField protected val shape: LongArray) {
    fun numel(): Long = standIn()

    fun shape(): LongArray = standIn()

    abstract fun dtype(): DType

    open val dataAsByteArray: ByteArray get() = standIn()
    open val dataAsUnsignedByteArray: ByteArray get() = standIn()
    open val dataAsIntArray: IntArray get() = standIn()
    open val dataAsFloatArray: FloatArray get() = standIn()
    open val dataAsLongArray: LongArray get() = standIn()
    open val dataAsDoubleArray: DoubleArray get() = standIn()

    companion object {
        @JvmStatic fun fromBlobUnsigned(data: ByteArray, shape: LongArray): Tensor = standIn()
        @JvmStatic fun fromBlob(data: ByteArray, shape: LongArray): Tensor = standIn()
        @JvmStatic fun fromBlob(data: IntArray, shape: LongArray): Tensor = standIn()
        @JvmStatic fun fromBlob(data: FloatArray, shape: LongArray): Tensor = standIn()
        @JvmStatic fun fromBlob(data: LongArray, shape: LongArray): Tensor = standIn()
        @JvmStatic fun fromBlob(data: DoubleArray, shape: LongArray): Tensor = standIn()
        // Direct, native-order buffers are wrapped without a copy; a ShortBuffer holds float16 bits
        // (Tensor_float16, whose dataAsFloatArray widens to float): Tensor.kt on release/1.4 and main.
        @JvmStatic fun fromBlob(data: java.nio.FloatBuffer, shape: LongArray): Tensor = standIn()
        @JvmStatic fun fromBlob(data: java.nio.ShortBuffer, shape: LongArray): Tensor = standIn()
        @JvmStatic fun numel(shape: LongArray): Long = standIn()
    }
}

// TEST DOUBLE of ExecuTorch 1.5.x's org.pytorch.executorch.Tensor (see ../../../../README.md):
// fromBlob of a buffer checks it as upstream's Tensor.kt does and wraps it without a copy.
package org.pytorch.executorch

import java.nio.Buffer
import java.nio.ByteOrder
import java.nio.FloatBuffer
import java.nio.ShortBuffer

abstract class Tensor internal constructor(@JvmField protected val shape: LongArray) {
    fun numel(): Long = numel(shape)

    fun shape(): LongArray = shape.copyOf()

    abstract fun dtype(): DType

    open val dataAsByteArray: ByteArray get() = throw IllegalStateException("Tensor of type ${dtype()} cannot return data as byte array.")
    open val dataAsUnsignedByteArray: ByteArray get() = throw IllegalStateException("Tensor of type ${dtype()} cannot return data as unsigned byte array.")
    open val dataAsIntArray: IntArray get() = throw IllegalStateException("not an int tensor")
    open val dataAsFloatArray: FloatArray get() = throw IllegalStateException("Tensor of type ${dtype()} cannot return data as float array.")
    open val dataAsLongArray: LongArray get() = throw IllegalStateException("not a long tensor")
    open val dataAsDoubleArray: DoubleArray get() = throw IllegalStateException("not a double tensor")

    /** The buffer the tensor wraps, which upstream's native code reads in place (jni_layer.cpp calls it). */
    open fun getRawDataBuffer(): Buffer =
        throw IllegalStateException("Tensor of type ${javaClass.simpleName} cannot return raw data buffer.")

    private class Floats(private val data: FloatBuffer, shape: LongArray) : Tensor(shape) {
        override fun dtype() = DType.FLOAT
        override fun getRawDataBuffer(): Buffer = data
        override val dataAsFloatArray: FloatArray get() = FloatArray(data.capacity()) { data.get(it) }
    }

    private class Halves(private val data: ShortBuffer, shape: LongArray) : Tensor(shape) {
        override fun dtype() = DType.HALF
        override fun getRawDataBuffer(): Buffer = data
        // Tensor_float16.getDataAsFloatArray widens each half to a float.
        override val dataAsFloatArray: FloatArray get() = FloatArray(data.capacity()) { halfToFloat(data.get(it)) }
    }

    private class Bytes(private val data: ByteArray, shape: LongArray) : Tensor(shape) {
        override fun dtype() = DType.UINT8
        override val dataAsUnsignedByteArray: ByteArray get() = data.copyOf()
    }

    companion object {
        @JvmStatic fun fromBlobUnsigned(data: ByteArray, shape: LongArray): Tensor = Bytes(data.copyOf(), shape)
        @JvmStatic fun fromBlob(data: ByteArray, shape: LongArray): Tensor = Bytes(data.copyOf(), shape)
        @JvmStatic fun fromBlob(data: IntArray, shape: LongArray): Tensor = throw UnsupportedOperationException("not used by the library")
        @JvmStatic fun fromBlob(data: FloatArray, shape: LongArray): Tensor {
            val buffer = java.nio.ByteBuffer.allocateDirect(data.size * 4).order(ByteOrder.nativeOrder()).asFloatBuffer()
            buffer.put(data)
            return Floats(buffer, shape)
        }
        @JvmStatic fun fromBlob(data: LongArray, shape: LongArray): Tensor = throw UnsupportedOperationException("not used by the library")
        @JvmStatic fun fromBlob(data: DoubleArray, shape: LongArray): Tensor = throw UnsupportedOperationException("not used by the library")

        @JvmStatic fun fromBlob(data: FloatBuffer, shape: LongArray): Tensor {
            checkCapacity(data.capacity(), shape)
            require(data.isDirect) { "Data buffer must be direct (java.nio.ByteBuffer#allocateDirect)" }
            require(data.order() == ByteOrder.nativeOrder()) { "Data buffer must have native byte order (java.nio.ByteOrder#nativeOrder)" }
            return Floats(data, shape)
        }

        @JvmStatic fun fromBlob(data: ShortBuffer, shape: LongArray): Tensor {
            checkCapacity(data.capacity(), shape)
            require(data.isDirect) { "Data buffer must be direct (java.nio.ByteBuffer#allocateDirect)" }
            require(data.order() == ByteOrder.nativeOrder()) { "Data buffer must have native byte order (java.nio.ByteOrder#nativeOrder)" }
            return Halves(data, shape)
        }

        @JvmStatic fun numel(shape: LongArray): Long = shape.fold(1L) { product, dimension -> product * dimension }

        private fun checkCapacity(capacity: Int, shape: LongArray) {
            require(numel(shape) == capacity.toLong()) {
                "Inconsistent data capacity:$capacity and shape number elements:${numel(shape)} shape:${shape.contentToString()}"
            }
        }

        private fun halfToFloat(bits: Short): Float {
            val h = bits.toInt() and 0xFFFF
            val sign = (h ushr 15) shl 31
            val exponent = (h ushr 10) and 0x1F
            val mantissa = h and 0x3FF
            val floatBits = when {
                exponent == 0 && mantissa == 0 -> sign
                exponent == 0 -> return (if (sign != 0) -1 else 1) * mantissa * Math.pow(2.0, -24.0).toFloat()
                exponent == 0x1F -> sign or 0x7F800000 or (mantissa shl 13)
                else -> sign or ((exponent - 15 + 127) shl 23) or (mantissa shl 13)
            }
            return java.lang.Float.intBitsToFloat(floatBits)
        }
    }
}

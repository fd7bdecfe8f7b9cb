package com.example.mnv3

import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.FloatBuffer
import java.nio.ShortBuffer

/**
 * The data of the model's input tensor: allocated once per classifier, refilled for every image.
 *
 * The layout is the one the metadata promises: `[1, 3, size, size]` (NCHW) of RGB values 0–255
 * when the model normalises in its graph, of `(value / 255 - mean) / std` otherwise; float32, or
 * float16 for fp16 models (the graph takes no dtype cast: XNNPACK would not run it). The buffer
 * is direct and in native byte order, as ExecuTorch's `Tensor.fromBlob(FloatBuffer | ShortBuffer,
 * shape)` requires to wrap it without a copy; the tensor reads it at every `forward`, so the
 * caller fills and runs under one lock.
 */
internal class ModelInput(metadata: ModelMetadata) {
    private val halfPrecision = metadata.inputType == InputType.FLOAT16
    private val plane = metadata.inputSize * metadata.inputSize

    /** The tensor's shape, `[1, 3, size, size]`. */
    val shape = longArrayOf(1, 3, metadata.inputSize.toLong(), metadata.inputSize.toLong())

    // The value of byte b in channel c is at [c * 256 + b]: one lookup per value, and exactly the
    // float32 arithmetic of the Python reference (mnv3_sdk.imaging.model_input.to_model_input).
    private val values = FloatArray(3 * 256) { index ->
        val channel = index / 256
        val byte = (index % 256).toFloat()
        if (metadata.normalizedInGraph) byte else (byte / 255f - metadata.mean[channel]) / metadata.std[channel]
    }
    private val halves = ShortArray(values.size) { HalfFloat.fromFloat(values[it]) }

    private val bytes: ByteBuffer =
        ByteBuffer.allocateDirect(3 * plane * if (halfPrecision) 2 else 4).order(ByteOrder.nativeOrder())

    /** The float32 view of the buffer, or null for a float16 model. */
    val floats: FloatBuffer? = if (halfPrecision) null else bytes.asFloatBuffer()

    /** The float16 view of the buffer (IEEE half bits), or null for a float32 model. */
    val shorts: ShortBuffer? = if (halfPrecision) bytes.asShortBuffer() else null

    /** Writes `size * size * 3` RGB bytes (HWC, as [ImagePreprocessing.preprocess] returns) as CHW values. */
    fun fill(rgb: ByteArray) {
        require(rgb.size == 3 * plane) { "expected ${3 * plane} RGB bytes, got ${rgb.size}" }
        val floats = floats
        if (floats != null) {
            for (i in 0 until plane) {
                floats.put(i, values[rgb[3 * i].toInt() and 0xFF])
                floats.put(plane + i, values[256 + (rgb[3 * i + 1].toInt() and 0xFF)])
                floats.put(2 * plane + i, values[512 + (rgb[3 * i + 2].toInt() and 0xFF)])
            }
        } else {
            val shorts = shorts!!
            for (i in 0 until plane) {
                shorts.put(i, halves[rgb[3 * i].toInt() and 0xFF])
                shorts.put(plane + i, halves[256 + (rgb[3 * i + 1].toInt() and 0xFF)])
                shorts.put(2 * plane + i, halves[512 + (rgb[3 * i + 2].toInt() and 0xFF)])
            }
        }
    }
}

/** IEEE 754 binary16 conversion (round to nearest, ties to even), as `torch.Tensor.half()` rounds. */
internal object HalfFloat {
    fun fromFloat(value: Float): Short {
        val bits = java.lang.Float.floatToRawIntBits(value)
        val sign = (bits ushr 16) and 0x8000
        val exponent = (bits ushr 23) and 0xFF
        val mantissa = bits and 0x7FFFFF
        if (exponent == 0xFF) return (sign or 0x7C00 or if (mantissa != 0) 0x200 else 0).toShort() // inf, NaN
        val halfExponent = exponent - 127 + 15
        if (halfExponent >= 0x1F) return (sign or 0x7C00).toShort() // overflow → infinity
        if (halfExponent <= 0) {
            if (halfExponent < -10) return sign.toShort() // underflow → signed zero
            // Subnormal: shift the mantissa (with its implicit 1) into place, rounding to even.
            val full = mantissa or 0x800000
            val shift = 14 - halfExponent
            return (sign or roundShift(full, shift)).toShort()
        }
        // A mantissa carry on rounding moves into the exponent, which is the right answer.
        return (sign or ((halfExponent shl 10) + roundShift(mantissa, 13))).toShort()
    }

    private fun roundShift(value: Int, shift: Int): Int {
        val kept = value ushr shift
        val remainder = value and ((1 shl shift) - 1)
        val half = 1 shl (shift - 1)
        return if (remainder > half || (remainder == half && (kept and 1) == 1)) kept + 1 else kept
    }
}

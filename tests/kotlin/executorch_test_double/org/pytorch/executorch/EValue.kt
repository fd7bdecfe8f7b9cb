// TEST DOUBLE of ExecuTorch 1.5.x's org.pytorch.executorch.EValue (see ../../../../README.md).
package org.pytorch.executorch

class EValue private constructor(@JvmField val mTypeCode: Int, private val value: Any?) {
    val isNone: Boolean get() = mTypeCode == TYPE_CODE_NONE
    val isTensor: Boolean get() = mTypeCode == TYPE_CODE_TENSOR
    val isBool: Boolean get() = value is Boolean
    val isInt: Boolean get() = value is Long
    val isDouble: Boolean get() = value is Double
    val isString: Boolean get() = value is String

    fun toTensor(): Tensor = value as? Tensor ?: throw IllegalStateException("Expected EValue type Tensor")
    fun toBool(): Boolean = value as Boolean
    fun toInt(): Long = value as Long
    fun toDouble(): Double = value as Double
    fun toStr(): String = value as String

    companion object {
        private const val TYPE_CODE_NONE = 0
        private const val TYPE_CODE_TENSOR = 1
        private const val TYPE_CODE_OTHER = 2

        @JvmStatic fun optionalNone(): EValue = EValue(TYPE_CODE_NONE, null)
        @JvmStatic fun from(tensor: Tensor): EValue = EValue(TYPE_CODE_TENSOR, tensor)
        @JvmStatic fun from(value: Boolean): EValue = EValue(TYPE_CODE_OTHER, value)
        @JvmStatic fun from(value: Long): EValue = EValue(TYPE_CODE_OTHER, value)
        @JvmStatic fun from(value: Double): EValue = EValue(TYPE_CODE_OTHER, value)
        @JvmStatic fun from(value: String): EValue = EValue(TYPE_CODE_OTHER, value)
    }
}

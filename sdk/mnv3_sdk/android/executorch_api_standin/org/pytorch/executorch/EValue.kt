// Compile-only stand-in for ExecuTorch 1.5.x's org.pytorch.executorch.EValue (see README.md).
package org.pytorch.executorch

class EValue private constructor(@JvmField val mTypeCode: Int) {
    val isNone: Boolean get() = standIn()
    val isTensor: Boolean get() = standIn()
    val isBool: Boolean get() = standIn()
    val isInt: Boolean get() = standIn()
    val isDouble: Boolean get() = standIn()
    val isString: Boolean get() = standIn()

    fun toTensor(): Tensor = standIn()
    fun toBool(): Boolean = standIn()
    fun toInt(): Long = standIn()
    fun toDouble(): Double = standIn()
    fun toStr(): String = standIn()

    companion object {
        @JvmStatic fun optionalNone(): EValue = standIn()
        @JvmStatic fun from(tensor: Tensor): EValue = standIn()
        @JvmStatic fun from(value: Boolean): EValue = standIn()
        @JvmStatic fun from(value: Long): EValue = standIn()
        @JvmStatic fun from(value: Double): EValue = standIn()
        @JvmStatic fun from(value: String): EValue = standIn()
    }
}

// Compile-only stand-in for ExecuTorch 1.5.x's org.pytorch.executorch.Module (see README.md).
package org.pytorch.executorch

import java.io.Closeable

open class Module private constructor() : Closeable {
    companion object {
        const val LOAD_MODE_FILE = 0
        const val LOAD_MODE_MMAP = 1
        const val LOAD_MODE_MMAP_USE_MLOCK = 2
        const val LOAD_MODE_MMAP_USE_MLOCK_IGNORE_ERRORS = 3

        @JvmStatic
        @JvmOverloads
        fun load(modelPath: String?, loadMode: Int = LOAD_MODE_FILE, numThreads: Int = 0): Module = standIn()

        @JvmStatic
        fun readLogBufferStatic(): Array<String>? = standIn()
    }

    open fun forward(vararg inputs: EValue): Array<EValue> = standIn()

    open fun execute(methodName: String, vararg inputs: EValue): Array<EValue> = standIn()

    open fun loadMethod(methodName: String): Unit = standIn()

    open fun getMethods(): Array<String> = standIn()

    open fun getMethodMetadata(name: String): MethodMetadata = standIn()

    open fun readLogBuffer(): Array<String>? = standIn()

    open fun etdump(): Boolean = standIn()

    open fun destroy(): Unit = standIn()

    override fun close(): Unit = standIn()
}

internal fun standIn(): Nothing =
    throw UnsupportedOperationException("compile-only stand-in for the ExecuTorch Android runtime")

// TEST DOUBLE of ExecuTorch 1.5.x's org.pytorch.executorch.Module, for the Robolectric tests only
// (see ../../../../README.md): upstream's behaviour from extension/android/executorch_android/src/
// main/java/org/pytorch/executorch/Module.kt and extension/android/jni/jni_layer.cpp (v1.4.1).
package org.pytorch.executorch

import java.io.Closeable
import java.io.File
import java.util.concurrent.locks.ReentrantLock

open class Module private constructor(private val program: TestPrograms.Program) : Closeable {
    private val lock = ReentrantLock()
    private var destroyed = false

    companion object {
        init {
            // Upstream: NativeLoader.loadLibrary("executorch"), which fails on an ABI the AAR has no .so for.
            if (System.getProperty(TestPrograms.MISSING_ABI_PROPERTY) != null) {
                throw UnsatisfiedLinkError(
                    "dlopen failed: library \"libexecutorch.so\" not found (test double: no native library for this ABI)"
                )
            }
        }

        const val LOAD_MODE_FILE = 0
        const val LOAD_MODE_MMAP = 1
        const val LOAD_MODE_MMAP_USE_MLOCK = 2
        const val LOAD_MODE_MMAP_USE_MLOCK_IGNORE_ERRORS = 3

        @JvmStatic
        @JvmOverloads
        fun load(modelPath: String?, loadMode: Int = LOAD_MODE_FILE, numThreads: Int = 0): Module {
            TestPrograms.onCall("load")
            // ExecuTorchRuntime.validateFilePath(modelPath, "model path")
            requireNotNull(modelPath) { "Cannot load model path: path is null" }
            val file = File(modelPath)
            require(file.exists()) { "Cannot load model path: path does not exist: $modelPath" }
            require(file.isFile) { "Cannot load model path: path is not a file: $modelPath" }
            val program = TestPrograms.programFor(file)
                ?: throw ExecutorchRuntimeException(
                    ExecutorchRuntimeException.INTERNAL,
                    "Failed to create Module: not a program the test registered: $modelPath",
                )
            // jni_layer.cpp: numThreads != 0 ? numThreads : cpuinfo_get_processors_count() / 2, then
            // _unsafe_reset_threadpool(count) when count > 0. For 0 the double takes the JVM's processor
            // count for cpuinfo's (equal on the test hosts); the library always passes a count.
            val count = if (numThreads != 0) numThreads else Runtime.getRuntime().availableProcessors() / 2
            if (count > 0) TestPrograms.threadPoolResets.add(count)
            TestPrograms.loads.incrementAndGet()
            return Module(program)
        }

        @JvmStatic
        fun readLogBufferStatic(): Array<String>? = emptyArray()
    }

    open fun forward(vararg inputs: EValue): Array<EValue> = execute("forward", *inputs)

    open fun execute(methodName: String, vararg inputs: EValue): Array<EValue> {
        TestPrograms.onCall("execute $methodName")
        lock.lock()
        try {
            check(!destroyed) { "Module has been destroyed" }
            val method = program.methods[methodName]
                ?: if (inputs.isEmpty()) {
                    throw ExecutorchRuntimeException(
                        ExecutorchRuntimeException.INVALID_ARGUMENT,
                        "Cannot get method names [Native Error: 0x12]",
                    )
                } else {
                    throw ExecutorchRuntimeException(
                        ExecutorchRuntimeException.INVALID_ARGUMENT,
                        "Execution failed for method: $methodName",
                    )
                }
            return method(inputs)
        } finally {
            lock.unlock()
        }
    }

    open fun loadMethod(methodName: String) {
        TestPrograms.onCall("loadMethod $methodName")
        lock.lock()
        try {
            check(!destroyed) { "Module has been destroyed" }
            if (methodName !in program.methods) {
                throw ExecutorchRuntimeException.makeExecutorchException(
                    ExecutorchRuntimeException.INVALID_ARGUMENT, "Failed to load method: $methodName",
                )
            }
        } finally {
            lock.unlock()
        }
    }

    open fun getMethods(): Array<String> = program.methods.keys.toTypedArray()

    open fun getMethodMetadata(name: String): MethodMetadata =
        if (name in program.methods) MethodMetadata(name, arrayOf("XnnpackBackend"))
        else throw IllegalArgumentException("method $name does not exist for this module")

    open fun readLogBuffer(): Array<String>? = emptyArray()

    open fun etdump(): Boolean = false

    open fun destroy() {
        if (lock.tryLock()) {
            try {
                if (!destroyed) {
                    destroyed = true
                    TestPrograms.closes.incrementAndGet()
                }
            } finally {
                lock.unlock()
            }
        } else {
            throw IllegalStateException("Cannot destroy module while method is executing")
        }
    }

    override fun close() = destroy()
}

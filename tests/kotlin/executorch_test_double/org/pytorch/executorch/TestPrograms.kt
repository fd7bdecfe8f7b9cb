// TEST DOUBLE support (see ../../../../README.md): what the "programs" behind Module.load do.
package org.pytorch.executorch

import java.io.File
import java.nio.FloatBuffer
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger

/** The programs the test double's [Module.load] can open, keyed by the SHA-256 of the file's bytes. */
object TestPrograms {
    /** Set (to anything) before [Module] is first used to play a device whose ABI the AAR has no library for. */
    const val MISSING_ABI_PROPERTY = "executorch.testdouble.missingAbi"

    class Program(val methods: Map<String, (Array<out EValue>) -> Array<EValue>>)

    private val programs = ConcurrentHashMap<String, Program>()

    /** Thread counts passed to the process-wide pool's reset, in order (jni_layer.cpp). */
    val threadPoolResets = CopyOnWriteArrayList<Int>()
    val loads = AtomicInteger()

    /** Called as each call starts ("load", "loadMethod forward", "execute metadata"…): a test can time them. */
    @Volatile
    var onCall: (String) -> Unit = {}
    val closes = AtomicInteger()

    /**
     * A model file whose `forward` maps the float input to [logits] and whose `metadata` method
     * (when [metadata] is not null) returns those UTF-8 bytes as a uint8 tensor, as mnv3-sdk's .pte do.
     */
    fun register(file: File, metadata: ByteArray?, logits: (FloatArray) -> FloatArray) {
        val methods = HashMap<String, (Array<out EValue>) -> Array<EValue>>()
        methods["forward"] = { inputs ->
            val input = inputs.single().toTensor()
            val values = input.dataAsFloatArray
            val out = logits(values)
            arrayOf(EValue.from(Tensor.fromBlob(out, longArrayOf(1, out.size.toLong()))))
        }
        if (metadata != null) {
            methods["metadata"] = { _ -> arrayOf(EValue.from(Tensor.fromBlobUnsigned(metadata, longArrayOf(metadata.size.toLong())))) }
        }
        programs[digest(file.readBytes())] = Program(methods)
    }

    /**
     * As [register], but [logits] reads the float input where it lies, in the buffer the input
     * tensor wraps (a read-only view of it), as upstream's native code does: jni_layer.cpp's
     * newTensorFromJTensor wraps `GetDirectBufferAddress(getRawDataBuffer())` with `from_blob`, no
     * copy. [register]'s array is a copy made for the tests' convenience, which a test counting the
     * library's allocations must not count.
     */
    fun registerReadingInPlace(file: File, metadata: ByteArray?, logits: (FloatBuffer) -> FloatArray) {
        val methods = HashMap<String, (Array<out EValue>) -> Array<EValue>>()
        methods["forward"] = { inputs ->
            val out = logits((inputs.single().toTensor().getRawDataBuffer() as FloatBuffer).asReadOnlyBuffer())
            arrayOf(EValue.from(Tensor.fromBlob(out, longArrayOf(1, out.size.toLong()))))
        }
        if (metadata != null) {
            methods["metadata"] = { _ -> arrayOf(EValue.from(Tensor.fromBlobUnsigned(metadata, longArrayOf(metadata.size.toLong())))) }
        }
        programs[digest(file.readBytes())] = Program(methods)
    }

    fun programFor(file: File): Program? = programs[digest(file.readBytes())]

    fun reset() {
        programs.clear()
        threadPoolResets.clear()
        onCall = {}
        loads.set(0)
        closes.set(0)
    }

    private fun digest(bytes: ByteArray): String =
        java.security.MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }
}

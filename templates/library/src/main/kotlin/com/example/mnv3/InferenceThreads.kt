package com.example.mnv3

/**
 * How many threads ExecuTorch runs inference on. This is one setting for the whole process, not
 * per model; plain Kotlin, tested on the JVM.
 *
 * ExecuTorch's Android runtime (the XNNPACK build of `executorch-android`) has a single thread
 * pool per process, and every `Module.load(path, mode, numThreads)` resizes it: 0 means half the
 * CPU cores, any other count recreates the pool, which frees the pool that models loaded earlier
 * are still running on. So the first model loaded decides the count; later loads asking for 0 get
 * that count passed explicitly (the pool is then left alone), and a later load asking for a
 * different count is refused with an [IllegalStateException] rather than crashing the models
 * already loaded.
 *
 * The decision lives in a JVM system property, not in this object: every library mnv3-sdk generated
 * into the same app (each in its own package) then agrees on it. Code that calls `Module.load`
 * directly still resizes the pool: make it pass [current] as its thread count.
 */
internal object InferenceThreads {
    /** Holds the decided count; shared by every mnv3-sdk library in the process. */
    const val PROPERTY = "mnv3-sdk.executorch.num-threads"

    /**
     * The thread count to pass to `Module.load` for a caller that asked for [requested] threads
     * (0: no preference), deciding it for the process if no model was loaded yet. Called just
     * before `Module.load`, which resizes the pool as soon as its native object exists
     * (jni_layer.cpp), so the count stays decided even if loading then fails.
     *
     * @throws IllegalStateException if [requested] is neither 0 nor the count already decided.
     */
    fun claim(requested: Int, availableProcessors: Int = Runtime.getRuntime().availableProcessors()): Int {
        require(requested >= 0) { "numThreads must be 0 (default) or positive, got $requested" }
        // What the runtime does with 0 (jni_layer.cpp: cores / 2); a single-core device keeps one thread.
        val proposed = if (requested > 0) requested else maxOf(1, availableProcessors / 2)
        // Properties is a Hashtable: putIfAbsent is atomic, so two first loads racing agree on one count.
        val decided = (System.getProperties().putIfAbsent(PROPERTY, proposed.toString()) as String?)?.toInt() ?: proposed
        check(requested == 0 || requested == decided) {
            "numThreads = $requested, but ExecuTorch's thread pool already runs $decided threads, set by the " +
                "first model loaded in this process; the pool is shared by all models and resizing it would " +
                "crash those already loaded. Pass 0 or $decided."
        }
        return decided
    }

    /** The count decided by the first model loaded in this process, or 0 before any. */
    fun current(): Int = System.getProperty(PROPERTY)?.toIntOrNull() ?: 0
}

package com.example.mnv3

import java.io.File

/**
 * How many threads ExecuTorch runs inference on. This is one setting for the whole process, not
 * per model; plain Kotlin, tested on the JVM.
 *
 * ExecuTorch's Android runtime (the XNNPACK build of `executorch-android`) has a single thread
 * pool per process, and every `Module.load(path, mode, numThreads)` resizes it (jni_layer.cpp):
 * 0 means `cpuinfo_get_processors_count() / 2`, and any count other than the pool's current one
 * recreates the pool (threadpool.cpp, `_unsafe_reset_threadpool`), which frees the pool that
 * models loaded earlier are still running on. So the policy is:
 *
 * - the first model loaded in the process decides the count, atomically: of several first loads
 *   racing on different threads (or in different generated libraries), exactly one claim wins
 *   and all the others see its count;
 * - every load then passes that count explicitly, so the pool is sized once and never resized
 *   under a loaded model (passing the pool's own count is a no-op in `_unsafe_reset_threadpool`);
 * - a later load asking for 0 gets the decided count; one asking for a different count is refused
 *   with an [IllegalStateException] naming both, rather than crashing the models already loaded;
 * - asking for 0 first decides what `Module.load` itself decides for 0, [executorchDefault]:
 *   ExecuTorch's rule, not this library's.
 *
 * The decision lives in a JVM system property, not in this object: every library mnv3-sdk generated
 * into the same app (each in its own package, with its own copy of this class) then agrees on it.
 * Code that calls `Module.load` directly still resizes the pool: make it pass [current] as its
 * thread count.
 */
internal object InferenceThreads {
    /** Holds the decided count; shared by every mnv3-sdk library in the process. */
    const val PROPERTY = "mnv3-sdk.executorch.num-threads"

    /**
     * The thread count to pass to `Module.load` for a caller that asked for [requested] threads
     * (0: no preference), deciding it for the process if no model was loaded yet, with
     * [defaultCount] when [requested] is 0. Called just before `Module.load`, which resizes the
     * pool as soon as its native object exists (jni_layer.cpp), so the count stays decided even
     * if loading then fails.
     *
     * @throws IllegalStateException if [requested] is neither 0 nor the count already decided.
     */
    fun claim(requested: Int, defaultCount: () -> Int = ::executorchDefault): Int {
        require(requested >= 0) { "numThreads must be 0 (default) or positive, got $requested" }
        val decided = current().takeIf { it > 0 } ?: run {
            val proposed = if (requested > 0) requested else defaultCount()
            // Properties is a Hashtable: putIfAbsent is atomic, so two first loads racing agree on one count.
            (System.getProperties().putIfAbsent(PROPERTY, proposed.toString()) as String?)?.toInt() ?: proposed
        }
        check(requested == 0 || requested == decided) {
            "numThreads = $requested, but ExecuTorch's thread pool already runs $decided threads, set by the " +
                "first model loaded in this process; the pool is shared by all models and resizing it would " +
                "crash those already loaded. Pass 0 or $decided."
        }
        return decided
    }

    /** The count decided by the first model loaded in this process, or 0 before any. */
    fun current(): Int = System.getProperty(PROPERTY)?.toIntOrNull() ?: 0

    /**
     * What `Module.load(path, mode, 0)` sizes the pool to on this device: jni_layer.cpp's
     * `cpuinfo_get_processors_count() / 2`; a single-core device keeps one thread (for a count of
     * 0 the runtime leaves its pool as created). Not the performance-core count
     * (`get_num_performant_cores`): the pool is created with it in CMake builds (threadpool.cpp,
     * extension/threadpool/CMakeLists.txt), but the first `Module.load` resizes it to this count.
     */
    fun executorchDefault(): Int = maxOf(1, cpuinfoProcessorsCount(CPU_FOLDER, CPU_INFO, System.getProperty("os.arch")) / 2)

    /**
     * `cpuinfo_get_processors_count()` as pytorch/cpuinfo computes it on Linux (src/arm/linux/init.c,
     * src/x86/linux/init.c): the processors listed both in `possible` and in `present` under
     * [cpuFolder] (either list alone when the other cannot be read), and, on ARM, also reported in
     * [cpuInfo] (`/proc/cpuinfo`, where the kernel lists the processors online; cpuinfo counts no
     * other). `Runtime.availableProcessors()` counts something else (the processors online now,
     * or those the process may run on), and is only the answer when none of these can be read.
     */
    fun cpuinfoProcessorsCount(cpuFolder: File, cpuInfo: File, arch: String?): Int {
        val possible = readCpuList(File(cpuFolder, "possible"))
        val present = readCpuList(File(cpuFolder, "present"))
        var processors = when {
            possible != null && present != null -> possible intersect present
            else -> possible ?: present ?: return Runtime.getRuntime().availableProcessors()
        }
        val arm = arch != null && (arch.startsWith("arm") || arch.startsWith("aarch64"))
        if (arm) {
            val reported = readReportedProcessors(cpuInfo)
            if (reported != null) processors = processors intersect reported
        }
        return processors.size.takeIf { it > 0 } ?: Runtime.getRuntime().availableProcessors()
    }

    /** A kernel CPU list such as `0-3,6,8-9` (Documentation/admin-guide/cputopology.rst), or null if unreadable. */
    private fun readCpuList(file: File): Set<Int>? {
        val text = try {
            file.readText().trim()
        } catch (error: java.io.IOException) {
            return null
        }
        if (text.isEmpty()) return null
        val cpus = HashSet<Int>()
        for (range in text.split(',')) {
            val bounds = range.trim().split('-').map { it.trim().toIntOrNull() ?: return null }
            when (bounds.size) {
                1 -> cpus.add(bounds[0])
                2 -> if (bounds[0] <= bounds[1]) cpus.addAll(bounds[0]..bounds[1]) else return null
                else -> return null
            }
        }
        return cpus
    }

    /** The `processor : N` entries of `/proc/cpuinfo`, or null if it cannot be read or lists none. */
    private fun readReportedProcessors(file: File): Set<Int>? {
        val lines = try {
            file.readLines()
        } catch (error: java.io.IOException) {
            return null
        }
        val reported = lines.mapNotNullTo(HashSet()) { line ->
            val (key, value) = line.split(':', limit = 2).takeIf { it.size == 2 } ?: return@mapNotNullTo null
            if (key.trim() == "processor") value.trim().toIntOrNull() else null
        }
        return reported.ifEmpty { null }
    }

    private val CPU_FOLDER = File("/sys/devices/system/cpu")
    private val CPU_INFO = File("/proc/cpuinfo")
}

// Test harness: runs the generated library's plain-Kotlin logic on the JVM for tests/test_kotlin.py.
// It is compiled together with the rendered files listed in tests/kotlin_jvm.py (PLAIN_KOTLIN:
// package com.example.mnv3, the demo's com.example.mnv3.demo, and a second copy of InferenceThreads
// in com.example.other standing for another generated library), without android.jar: that proves
// they need none. org.json comes from org.json:json here; Android ships its own.
package com.example.mnv3

import com.example.mnv3.demo.BenchmarkResult
import java.io.DataInputStream
import java.io.File
import java.io.FilterInputStream
import java.io.IOException
import java.io.InputStream
import java.io.RandomAccessFile
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.security.MessageDigest
import java.util.concurrent.Callable
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger
import org.json.JSONObject

fun main(args: Array<String>) {
    when (args[0]) {
        "preprocess" -> preprocessCases(File(args[1]))
        "upright" -> uprightCases(File(args[1]))
        "yuv" -> yuvCases(File(args[1]))
        "ycbcr" -> File(args[2]).writeBytes(everyYCbCr(File(args[1]).readBytes()))
        "postprocess" -> postprocessCase(File(args[1]))
        "metadata" -> printMetadata(File(args[1]))
        "metadata-error" -> println(metadataError(File(args[1])))
        "threads" -> threadPolicy()
        // cpuinfo's processor count for a fake /sys/devices/system/cpu (args[1]) and /proc/cpuinfo (args[2]).
        "cpus" -> println(InferenceThreads.cpuinfoProcessorsCount(File(args[1]), File(args[2]), args[3]))
        "default-claim" -> println("${InferenceThreads.claim(0)} ${Runtime.getRuntime().availableProcessors()}")
        "cache" -> cacheScenarios(File(args[1]), File(args[2]))
        "cache-race" -> println(sha256(cacheOf(File(args[1])).get("model.pte", args[3], File(args[2]).length()) { File(args[2]).inputStream() }))
        // A copy that reads its source slowly (a chunk per 20 ms), for a test to kill half-way or to race.
        "cache-slow" -> println(sha256(cacheOf(File(args[1])).get("model.pte", args[3], File(args[2]).length()) { SlowStream(File(args[2])) }))
        "bench-result" -> benchResult(File(args[1]), args[2].toInt())
        "model-input" -> modelInput(File(args[1]), File(args[2]), File(args[3]))
        "half" -> halves(File(args[1]), File(args[2]))
        else -> error("unknown mode ${args[0]}")
    }
}

/** Each `*.case`: width, height, size (int32 BE), crop fraction (float64 BE), ARGB ints → `*.rgb`. */
private fun preprocessCases(folder: File) {
    for (case in folder.listFiles { file -> file.name.endsWith(".case") }!!.sorted()) {
        DataInputStream(case.inputStream().buffered()).use { input ->
            val width = input.readInt()
            val height = input.readInt()
            val size = input.readInt()
            val cropFraction = input.readDouble()
            val pixels = IntArray(width * height) { input.readInt() }
            val rgb = ImagePreprocessing.preprocess(pixels, width, height, size, cropFraction)
            File(folder, case.name.removeSuffix(".case") + ".rgb").writeBytes(rgb)
            // The same pixels behind a PixelSource that copies as Bitmap.getPixels does.
            val source = GetPixelsSource(pixels, width, height)
            val banded = ImagePreprocessing.preprocess(source, size, cropFraction)
            File(folder, case.name.removeSuffix(".case") + ".banded").writeBytes(banded)
            File(folder, case.name.removeSuffix(".case") + ".reads")
                .writeText("${source.reads.get()} ${source.pixelsRead.get()} ${source.largestRead.get()}")
        }
    }
}

/**
 * Each `*.upright`: width, height, size (int32 BE), crop fraction (float64 BE), rotation, left, top,
 * right, bottom (int32 BE), ARGB ints → `*.rgb`: the region turned upright, read through a
 * PixelSource that copies as Bitmap.getPixels does, then preprocessed.
 */
private fun uprightCases(folder: File) {
    for (case in folder.listFiles { file -> file.name.endsWith(".upright") }!!.sorted()) {
        DataInputStream(case.inputStream().buffered()).use { input ->
            val width = input.readInt()
            val height = input.readInt()
            val size = input.readInt()
            val cropFraction = input.readDouble()
            val (rotation, left, top, right, bottom) = IntArray(5) { input.readInt() }
            val pixels = IntArray(width * height) { input.readInt() }
            val region = UprightRegion(GetPixelsSource(pixels, width, height), rotation, left, top, right, bottom)
            val rgb = ImagePreprocessing.preprocess(region, size, cropFraction)
            File(folder, case.name.removeSuffix(".upright") + ".rgb").writeBytes(rgb)
        }
    }
}

/**
 * Each `*.yuv`: width, height, rotation, size (int32 BE), crop fraction (float64 BE), then for Y, U, V:
 * row stride, pixel stride, direct (0/1), length, bytes → `*.rgb` (or `*.error` with the message of an
 * IllegalArgumentException). Direct buffers are what a camera's planes are; heap buffers must work too.
 */
private fun yuvCases(folder: File) {
    for (case in folder.listFiles { file -> file.name.endsWith(".yuv") }!!.sorted()) {
        val name = case.name.removeSuffix(".yuv")
        DataInputStream(case.inputStream().buffered()).use { input ->
            val width = input.readInt()
            val height = input.readInt()
            val rotation = input.readInt()
            val size = input.readInt()
            val cropFraction = input.readDouble()
            val planes = List(3) {
                val rowStride = input.readInt()
                val pixelStride = input.readInt()
                val direct = input.readInt() == 1
                val bytes = ByteArray(input.readInt()).also { input.readFully(it) }
                val buffer = if (direct) ByteBuffer.allocateDirect(bytes.size).put(bytes) else ByteBuffer.wrap(bytes)
                // A camera hands planes over at position 0; a moved position must not matter.
                buffer.position(bytes.size / 2)
                YuvPlane(buffer, rowStride, pixelStride)
            }
            try {
                val frame = YuvFrame(width, height, planes[0], planes[1], planes[2], rotation)
                File(folder, "$name.rgb").writeBytes(ImagePreprocessing.preprocess(frame, size, cropFraction))
            } catch (error: IllegalArgumentException) {
                File(folder, "$name.error").writeText(error.message ?: "")
            }
        }
    }
}

/** Y, Cb, Cr planes of 4096×4096 samples (every combination once) → their RGB by the library's conversion. */
private fun everyYCbCr(planes: ByteArray): ByteArray {
    val count = 4096 * 4096
    // The conversion takes chroma as rows of Cb then Cr, as the resize leaves it.
    val chroma = ByteArray(2 * count)
    for (row in 0 until 4096) {
        System.arraycopy(planes, count + row * 4096, chroma, row * 8192, 4096)
        System.arraycopy(planes, 2 * count + row * 4096, chroma, row * 8192 + 4096, 4096)
    }
    val rgb = ByteArray(3 * count)
    YuvPreprocessing.toUprightRgb(planes.copyOfRange(0, count), chroma, 4096, 0, rgb, 0, 4096)
    return rgb
}

/** Fills a ModelInput for metadata.json from RGB bytes and writes the tensor data (little-endian). */
private fun modelInput(metadataFile: File, rgbFile: File, out: File) {
    val input = ModelInput(ModelMetadata.parse(metadataFile.readBytes()))
    input.fill(rgbFile.readBytes())
    val floats = input.floats
    val shorts = input.shorts
    val count = floats?.capacity() ?: shorts!!.capacity()
    val data = ByteBuffer.allocate(count * if (floats != null) 4 else 2).order(ByteOrder.LITTLE_ENDIAN)
    for (i in 0 until count) if (floats != null) data.putFloat(floats.get(i)) else data.putShort(shorts!!.get(i))
    out.writeBytes(data.array())
}

/** float32 values (little-endian) → their float16 bits by HalfFloat (little-endian). */
private fun halves(floatsFile: File, out: File) {
    val floats = ByteBuffer.wrap(floatsFile.readBytes()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
    val data = ByteBuffer.allocate(floats.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN)
    for (i in 0 until floats.capacity()) data.putShort(HalfFloat.fromFloat(floats.get(i)))
    out.writeBytes(data.array())
}

/**
 * Test double of a `Bitmap` behind [PixelSource]: copies like `Bitmap.getPixels(destination, 0,
 * columns, left, top, columns, rows)`, in the order Android's `getPixels` and `checkPixelsAccess`
 * apply their rules (aosp-mirror/platform_frameworks_base, graphics/java/android/graphics/
 * Bitmap.java): nothing happens for an empty rectangle, then a read outside the bitmap throws
 * IllegalArgumentException and one past the array ArrayIndexOutOfBoundsException. Counts reads.
 */
private class GetPixelsSource(private val argb: IntArray, override val width: Int, override val height: Int) : PixelSource {
    val reads = AtomicInteger()
    val pixelsRead = java.util.concurrent.atomic.AtomicLong()
    val largestRead = AtomicInteger()

    override fun readPixels(destination: IntArray, left: Int, top: Int, columns: Int, rows: Int) {
        if (columns == 0 || rows == 0) return
        require(left >= 0) { "x must be >= 0" }
        require(top >= 0) { "y must be >= 0" }
        require(columns >= 0) { "width must be >= 0" }
        require(rows >= 0) { "height must be >= 0" }
        require(left + columns <= width) { "x + width must be <= bitmap.width()" }
        require(top + rows <= height) { "y + height must be <= bitmap.height()" }
        if ((rows - 1) * columns + columns > destination.size) throw ArrayIndexOutOfBoundsException()
        for (row in 0 until rows) System.arraycopy(argb, (top + row) * width + left, destination, row * columns, columns)
        reads.incrementAndGet()
        pixelsRead.addAndGet(columns.toLong() * rows)
        largestRead.accumulateAndGet(columns * rows, ::maxOf)
    }
}

/** logits count + floats, maxResults, threshold, allowlist, denylist (readUTF strings), labels. */
private fun postprocessCase(file: File) {
    DataInputStream(file.inputStream().buffered()).use { input ->
        val logits = FloatArray(input.readInt()) { input.readFloat() }
        val maxResults = input.readInt()
        val threshold = input.readFloat()
        val allow = List(input.readInt()) { input.readUTF() }.toSet()
        val deny = List(input.readInt()) { input.readUTF() }.toSet()
        val labels = List(input.readInt()) { input.readUTF() }
        val scores = Postprocessing.softmax(logits)
        val categories = Postprocessing.topCategories(scores, labels, maxResults, threshold, allow, deny)
        val out = StringBuilder()
        out.append(scores.joinToString(" ") { it.toString() }).append('\n')
        for (category in categories) out.append(category.index).append(' ').append(category.score).append('\n')
        File(file.path + ".out").writeText(out.toString())
    }
}

/** Parses metadata.json the way the app does and writes what it read, one item per line. */
private fun printMetadata(file: File) {
    val metadata = ModelMetadata.parse(file.readBytes())
    val lines = listOf(
        metadata.architecture, metadata.quantization.id, metadata.inputType.id,
        metadata.inputSize.toString(), metadata.cropFraction.toString(),
    ) + metadata.labels
    File(file.path + ".out").writeText(lines.joinToString("\n"), Charsets.UTF_8)
}

/** The IllegalArgumentException ModelMetadata.parse throws for a malformed document, as "class: message". */
private fun metadataError(file: File): String = try {
    ModelMetadata.parse(file.readBytes())
    "parsed"
} catch (error: IllegalArgumentException) {
    "${error.javaClass.simpleName}: ${error.message}"
}

/** Each line: scenario=result, where a refused claim prints its exception. */
private fun threadPolicy() {
    fun attempt(block: () -> Int): String = try {
        block().toString()
    } catch (error: IllegalStateException) {
        "IllegalStateException: ${error.message}"
    }
    System.clearProperty(InferenceThreads.PROPERTY)
    println("before=${InferenceThreads.current()}")
    println("first_default=${attempt { InferenceThreads.claim(0) { 4 } }}") // the runtime's count for 0, say 8 / 2
    println("then_default=${attempt { InferenceThreads.claim(0) { 4 } }}")
    println("then_same=${attempt { InferenceThreads.claim(4) }}")
    println("then_other=${attempt { InferenceThreads.claim(2) }}")
    println("current=${InferenceThreads.current()}")
    System.clearProperty(InferenceThreads.PROPERTY)
    println("first_explicit=${attempt { InferenceThreads.claim(3) }}")
    println("then_default_after_explicit=${attempt { InferenceThreads.claim(0) { 4 } }}")
    // The default is asked for only when it decides: never once a count is decided.
    println("default_not_asked=${attempt { InferenceThreads.claim(0) { error("asked") } }}")
    // Another generated library (its own package, its own copy of the class) sees the same decision.
    System.clearProperty(InferenceThreads.PROPERTY)
    println("this_library=${attempt { InferenceThreads.claim(6) }}")
    println("other_library_default=${attempt { com.example.other.InferenceThreads.claim(0) { 4 } }}")
    println("other_library_other=${attempt { com.example.other.InferenceThreads.claim(2) }}")
    // Many first loads at once, asking for different counts: exactly one count wins.
    System.clearProperty(InferenceThreads.PROPERTY)
    val pool = Executors.newFixedThreadPool(16)
    val start = CountDownLatch(1)
    val results = (0 until 64).map { index ->
        pool.submit(Callable { start.await(); attempt { InferenceThreads.claim(index % 4) { 4 } } })
    }
    start.countDown()
    println("race=" + results.map { it.get() }.map { if (it.startsWith("Illegal")) "refused" else it }.toSortedSet().joinToString(","))
    println("race_decided=${InferenceThreads.current()}")
    pool.shutdown()
}

private fun cacheOf(folder: File) = ModelFileCache(folder)

private fun sha256(file: File): String =
    MessageDigest.getInstance("SHA-256").digest(file.readBytes()).joinToString("") { "%02x".format(it) }

/** A source that counts its openings and can misbehave on chosen ones. */
private class Source(val file: File) {
    val opens = AtomicInteger()
    var truncateOpens = emptySet<Int>()
    var corruptCopyOnOpens = emptySet<Int>()

    fun open(folder: File): InputStream {
        val number = opens.incrementAndGet()
        val bytes = file.readBytes()
        val served = if (number in truncateOpens) bytes.copyOf(bytes.size - 100) else bytes
        return object : FilterInputStream(served.inputStream()) {
            override fun read(buffer: ByteArray, offset: Int, length: Int): Int {
                val read = super.read(buffer, offset, length)
                // Storage that garbles the write: at the end of the stream, flip a byte of the temporary copy.
                if (read < 0 && number in corruptCopyOnOpens) {
                    for (partial in folder.listFiles { f -> f.name.endsWith(".tmp") }!!) {
                        RandomAccessFile(partial, "rw").use { it.seek(10); it.write(it.readByte().toInt() xor 0xFF) }
                    }
                }
                return read
            }
        }
    }
}

private fun cacheScenarios(folder: File, sourceFile: File) {
    val source = Source(sourceFile)
    val size = sourceFile.length()
    val expected = sha256(sourceFile)
    fun get(key: String = "install-1"): File = cacheOf(folder).get("model.pte", key, size) { source.open(folder) }
    fun report(name: String, file: File) {
        val leftovers = folder.listFiles { f -> f.name.endsWith(".tmp") }!!.size
        println("$name opens=${source.opens.get()} same=${sha256(file) == expected} leftovers=$leftovers")
        source.opens.set(0)
    }
    report("first", get())
    report("again", get())
    report("new_key", get("install-2"))
    val target = File(folder, "model.pte")
    RandomAccessFile(target, "rw").use { it.setLength(size / 2) }
    report("truncated_copy", get("install-2"))
    Thread.sleep(50) // file times have a granularity of a few milliseconds: not synchronisation, a later mtime
    RandomAccessFile(target, "rw").use { it.seek(size / 3); it.write(it.readByte().toInt() xor 0xFF) }
    report("rewritten_copy", get("install-2"))
    source.truncateOpens = setOf(1)
    report("short_read_then_good", get("install-3"))
    source.truncateOpens = setOf(1, 2)
    val failure = try {
        get("install-4")
        "none"
    } catch (error: IOException) {
        error.message
    }
    println("short_read_twice opens=${source.opens.get()} error=$failure still_previous=${sha256(target) == expected} " +
        "leftovers=${folder.listFiles { f -> f.name.endsWith(".tmp") }!!.size}")
    source.opens.set(0)
    source.truncateOpens = emptySet()
    source.corruptCopyOnOpens = setOf(1)
    report("garbled_copy_then_good", get("install-5"))
    source.corruptCopyOnOpens = emptySet()
    // Eight threads create at once, each with its own cache object: one copy, the same file for all.
    val pool = Executors.newFixedThreadPool(8)
    val start = CountDownLatch(1)
    val files = (0 until 8).map { pool.submit(Callable { start.await(); get("install-6") }) }
    start.countDown()
    val results = files.map { it.get() }
    pool.shutdown()
    println("racing_threads distinct=${results.toSet().size}")
    report("threads", results[0])
}

/**
 * Writes a large success result while another thread reads the file the moment it exists (as the
 * host's `run-as cat` does), then two failures.
 */
private fun benchResult(folder: File, iterations: Int) {
    val file = File(folder, "result.json")
    val seen = AtomicInteger(-1)
    val reader = Thread {
        while (!file.exists()) Thread.onSpinWait()
        seen.set(JSONObject(file.readText()).getJSONArray("iterations_ms").length())
    }
    reader.start()
    val times = DoubleArray(iterations) { it * 0.001 + 1.0 / 3 }
    BenchmarkResult.write(file, BenchmarkResult.success("/data/local/tmp/m.pte", "Acme \"Phone\" 9", 4, 4, 10, 12.5, 7.25, times, 4242))
    reader.join()
    println("reader_saw_iterations=${seen.get()}")
    val linkError = UnsatisfiedLinkError("dlopen failed: library \"libexecutorch.so\" not found")
    BenchmarkResult.write(File(folder, "link_error.json"), BenchmarkResult.failure(linkError, null))
    BenchmarkResult.write(File(folder, "executorch_error.json"), BenchmarkResult.failure(RuntimeException("[ExecuTorch Error 0x23] Invalid program"), 0x23))
    val frame = BenchmarkResult.EndToEnd(1920, 1080, doubleArrayOf(3.5, 4.25))
    BenchmarkResult.write(File(folder, "end_to_end.json"), BenchmarkResult.success("m.pte", "Acme", 1, 1, 0, 1.0, 2.0, doubleArrayOf(2.0, 2.5), 1, frame))
    val yuv = BenchmarkResult.EndToEnd(1280, 720, doubleArrayOf(1.5), "yuv", 90)
    BenchmarkResult.write(File(folder, "end_to_end_yuv.json"), BenchmarkResult.success("m.pte", "Acme", 1, 1, 0, 1.0, 2.0, doubleArrayOf(2.0), 1, yuv))
    println("leftovers=${folder.listFiles { f -> f.name.endsWith(".tmp") }!!.size}")
}

/** Reads [file] 64 KiB at a time, 20 ms apart: a copy that takes long enough to be caught half-way. */
private class SlowStream(file: File) : java.io.FilterInputStream(file.inputStream()) {
    override fun read(buffer: ByteArray, offset: Int, length: Int): Int {
        Thread.sleep(20)
        return super.read(buffer, offset, minOf(length, 1 shl 16))
    }
}

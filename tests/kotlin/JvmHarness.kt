// Test harness: runs the generated library's plain-Kotlin logic on the JVM for tests/test_kotlin.py.
// It is compiled together with the rendered ImagePreprocessing.kt, Classification.kt and
// ModelMetadata.kt (package com.example.mnv3), without android.jar: that proves they need none.
package com.example.mnv3

import java.io.DataInputStream
import java.io.File

fun main(args: Array<String>) {
    when (args[0]) {
        "preprocess" -> preprocessCases(File(args[1]))
        "postprocess" -> postprocessCase(File(args[1]))
        "metadata" -> printMetadata(File(args[1]))
        "time" -> timePreprocessing(args[1].toInt(), args[2].toInt(), args[3].toInt(), args[4].toInt())
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
        }
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
        metadata.architecture, metadata.quantization, metadata.inputType,
        metadata.inputSize.toString(), metadata.cropFraction.toString(),
    ) + metadata.labels
    File(file.path + ".out").writeText(lines.joinToString("\n"), Charsets.UTF_8)
}

/** Median wall time of preprocessing a width×height frame, over `repeats` runs after a warm-up. */
private fun timePreprocessing(width: Int, height: Int, size: Int, repeats: Int) {
    val random = java.util.Random(0)
    val pixels = IntArray(width * height) { random.nextInt() }
    repeat(5) { ImagePreprocessing.preprocess(pixels, width, height, size, 0.875) }
    val times = DoubleArray(repeats) {
        val started = System.nanoTime()
        ImagePreprocessing.preprocess(pixels, width, height, size, 0.875)
        (System.nanoTime() - started) / 1e6
    }.sorted()
    println("%.3f".format(times[times.size / 2]))
}

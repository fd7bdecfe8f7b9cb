package com.example.mnv3.demo

import android.app.Activity
import android.os.Build
import android.os.Bundle
import android.os.Debug
import android.os.SystemClock
import android.util.Log
import java.io.File
import java.util.Random
import com.example.mnv3.MobileNetV3Classifier

/**
 * In-app benchmark, driven over adb (timing inside the app reflects real scheduling):
 *
 * ```
 * adb shell am start -W -S -n com.example.mnv3.demo/.BenchmarkActivity \
 *     --ei warmup 10 --ei iterations 50 --ei threads 4 --es model /data/local/tmp/model.pte
 * adb shell run-as com.example.mnv3.demo cat files/mnv3_benchmark.json
 * ```
 *
 * Times model load, the first inference and every measured iteration, writes them as JSON to
 * `files/mnv3_benchmark.json` and logs one summary line with the tag `mnv3-sdk-bench`.
 * Without `--es model`, the model bundled in the library's assets is used.
 */
class BenchmarkActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val warmup = intent.getIntExtra("warmup", 10)
        val iterations = intent.getIntExtra("iterations", 50)
        val threads = intent.getIntExtra("threads", 0)
        val modelPath = intent.getStringExtra("model")
        Thread {
            val json = try {
                run(warmup, iterations, threads, modelPath)
            } catch (error: Exception) {
                Log.e(TAG, "benchmark failed", error)
                "{\"error\": \"${escape(error.toString())}\"}"
            }
            File(filesDir, "mnv3_benchmark.json").writeText(json)
            runOnUiThread { finish() }
        }.start()
    }

    private fun run(warmup: Int, iterations: Int, threads: Int, modelPath: String?): String {
        val options = MobileNetV3Classifier.Options(numThreads = threads)
        val loadStarted = SystemClock.elapsedRealtimeNanos()
        val classifier = if (modelPath != null) {
            MobileNetV3Classifier.createFromFile(File(modelPath), options)
        } else {
            MobileNetV3Classifier.create(this, options)
        }
        val loadMs = (SystemClock.elapsedRealtimeNanos() - loadStarted) / 1e6
        classifier.use { model ->
            val size = model.metadata.inputSize
            val random = Random(0)
            val pixels = IntArray(size * size) { random.nextInt() or (0xFF shl 24) }
            val firstMs = model.classify(pixels, size, size).inferenceTimeMs
            repeat(warmup) { model.classify(pixels, size, size) }
            val times = DoubleArray(iterations) { model.classify(pixels, size, size).inferenceTimeMs }
            val pssKb = Debug.getPss()
            val sorted = times.sorted()
            val median = if (sorted.isEmpty()) 0.0 else sorted[sorted.size / 2]
            Log.i(TAG, "load_ms=%.2f first_ms=%.2f median_ms=%.2f iterations=%d threads=%d pss_kb=%d"
                .format(loadMs, firstMs, median, iterations, threads, pssKb))
            return buildString {
                append("{\"model\": \"").append(escape(modelPath ?: "asset:" + MobileNetV3Classifier.DEFAULT_MODEL_ASSET))
                append("\", \"device\": \"").append(escape(Build.MANUFACTURER + " " + Build.MODEL))
                append("\", \"threads\": ").append(threads)
                append(", \"warmup\": ").append(warmup)
                append(", \"load_ms\": ").append(loadMs)
                append(", \"first_inference_ms\": ").append(firstMs)
                append(", \"iterations_ms\": [").append(times.joinToString(", ")).append("]")
                append(", \"pss_kb\": ").append(pssKb)
                append("}")
            }
        }
    }

    private fun escape(text: String): String =
        text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\t", "\\t")

    private companion object {
        const val TAG = "mnv3-sdk-bench"
    }
}

package com.example.mnv3.demo

import android.app.Activity
import android.content.Context
import android.os.Build
import android.os.Bundle
import android.os.Debug
import android.util.Log
import java.io.File
import java.io.IOException
import java.nio.ByteBuffer
import java.util.Random
import org.json.JSONObject
import org.pytorch.executorch.ExecutorchRuntimeException
import com.example.mnv3.ClassificationResult
import com.example.mnv3.MobileNetV3Classifier
import com.example.mnv3.YuvFrame
import com.example.mnv3.YuvPlane

/**
 * In-app benchmark, driven over adb (timing inside the app reflects real scheduling):
 *
 * ```
 * adb shell am start -W -S -n com.example.mnv3.demo/.BenchmarkActivity \
 *     --ei warmup 10 --ei iterations 50 --ei threads 4 --es model /data/local/tmp/model.pte \
 *     --ei frame_width 1920 --ei frame_height 1080 --es frame_format yuv
 * adb shell run-as com.example.mnv3.demo cat files/mnv3_benchmark.json
 * ```
 *
 * Without `frame_width`/`frame_height`, each iteration classifies pixels already at the model's
 * input size, so preprocessing is next to nothing and the timing is the forward pass (as
 * ExecuTorch's benchmark app measures). With them, each iteration classifies a synthetic frame of
 * that size through the whole pipeline, and the result holds its preprocessing times beside the
 * forward pass's. `frame_format` says which pipeline: `argb` (the default) classifies ARGB_8888
 * pixels as `Bitmap.getPixels` returns them, `yuv` a YUV_420_888 camera frame as an `ImageReader`
 * delivers it (see [syntheticYuvFrame]).
 *
 * Times model load (`Module.load` and preparing `forward`, as ExecuTorch's own benchmark app
 * does), the first inference and every measured iteration, writes them as JSON to
 * `files/mnv3_benchmark.json` and logs one summary line with the tag `mnv3-sdk-bench`.
 * A failure is written there too, as `{"error": …}`. Without `--es model`, the model bundled in the
 * library's assets is used. `-S` starts a fresh process, so `threads` always sets the thread pool.
 */
class BenchmarkActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val warmup = intent.getIntExtra("warmup", 10)
        val iterations = intent.getIntExtra("iterations", 50)
        val threads = intent.getIntExtra("threads", 0)
        val modelPath = intent.getStringExtra("model")
        val frameWidth = intent.getIntExtra("frame_width", 0)
        val frameHeight = intent.getIntExtra("frame_height", 0)
        val frameFormat = intent.getStringExtra("frame_format") ?: ARGB
        val resultFile = File(filesDir, "mnv3_benchmark.json")
        val context = applicationContext
        Thread({
            val result = try {
                run(context, warmup, iterations, threads, modelPath, frameWidth, frameHeight, frameFormat)
            } catch (error: Throwable) {
                // Not only exceptions: UnsatisfiedLinkError (no ExecuTorch library for this ABI) and
                // OutOfMemoryError must reach the host as a result too, not as a crash it has to guess.
                Log.e(TAG, "benchmark failed", error)
                val executorchError = generateSequence(error) { it.cause }.filterIsInstance<ExecutorchRuntimeException>().firstOrNull()
                BenchmarkResult.failure(error, executorchError?.errorCode)
            }
            try {
                BenchmarkResult.write(resultFile, result)
            } catch (error: IOException) {
                Log.e(TAG, "cannot write $resultFile", error)
            }
            runOnUiThread { finish() }
        }, "benchmark").start()
    }

    private fun run(
        context: Context,
        warmup: Int,
        iterations: Int,
        threads: Int,
        modelPath: String?,
        frameWidth: Int,
        frameHeight: Int,
        frameFormat: String,
    ): JSONObject {
        require((frameWidth > 0) == (frameHeight > 0)) { "give both frame_width and frame_height, or neither" }
        require(frameFormat == ARGB || frameFormat == YUV) { "frame_format is $ARGB or $YUV, got $frameFormat" }
        require(frameFormat == ARGB || frameWidth > 0) { "frame_format $frameFormat needs frame_width and frame_height" }
        val options = MobileNetV3Classifier.Options(numThreads = threads)
        val classifier = if (modelPath != null) {
            MobileNetV3Classifier.createFromFile(File(modelPath), options)
        } else {
            MobileNetV3Classifier.create(context, options)
        }
        classifier.use { model ->
            val endToEnd = frameWidth > 0
            val width = if (endToEnd) frameWidth else model.metadata.inputSize
            val height = if (endToEnd) frameHeight else model.metadata.inputSize
            val random = Random(0)
            // The same input every iteration, built before timing starts: only classify is timed.
            val classifyFrame = if (frameFormat == YUV) {
                val frame = syntheticYuvFrame(width, height, random)
                fun(): ClassificationResult = model.classify(frame)
            } else {
                val pixels = IntArray(width * height) { random.nextInt() or (0xFF shl 24) }
                fun(): ClassificationResult = model.classify(pixels, width, height)
            }
            val firstMs = classifyFrame().inferenceTimeMs
            repeat(warmup) { classifyFrame() }
            val results = List(iterations) { classifyFrame() }
            val times = DoubleArray(iterations) { results[it].inferenceTimeMs }
            val frame = if (endToEnd) {
                val preprocessingMs = DoubleArray(iterations) { results[it].preprocessingTimeMs }
                BenchmarkResult.EndToEnd(width, height, preprocessingMs, frameFormat, if (frameFormat == YUV) YUV_ROTATION else 0)
            } else {
                null
            }
            val pssKb = Debug.getPss()
            val sorted = times.sorted()
            val median = if (sorted.isEmpty()) 0.0 else sorted[sorted.size / 2]
            Log.i(TAG, "load_ms=%.2f first_ms=%.2f median_ms=%.2f iterations=%d threads=%d pss_kb=%d"
                .format(model.loadTimeMs, firstMs, median, iterations, threads, pssKb))
            return BenchmarkResult.success(
                model = modelPath ?: ("asset:" + MobileNetV3Classifier.DEFAULT_MODEL_ASSET),
                device = Build.MANUFACTURER + " " + Build.MODEL,
                threads = threads,
                numThreadsInUse = MobileNetV3Classifier.numThreadsInUse,
                warmup = warmup,
                loadMs = model.loadTimeMs,
                firstInferenceMs = firstMs,
                iterationsMs = times,
                pssKb = pssKb,
                frame = frame,
            )
        }
    }

    /**
     * A [width]×[height] YUV_420_888 frame laid out as most phones' cameras deliver one: rows
     * without padding, chroma interleaved V then U (NV21) in one buffer that both chroma planes
     * view with pixelStride 2, the U plane one byte in, each plane ending right after its last
     * sample; turned [YUV_ROTATION] degrees from upright, as a back camera held in portrait. Direct
     * buffers, as `Image.Plane.getBuffer` returns, filled with random bytes.
     */
    private fun syntheticYuvFrame(width: Int, height: Int, random: Random): YuvFrame {
        val chromaRowStride = (width + 1) / 2 * 2
        val chroma = randomDirectBuffer(chromaRowStride * ((height + 1) / 2), random)
        val v = chroma.duplicate().apply { limit(capacity() - 1) }.slice()
        val u = chroma.duplicate().apply { position(1) }.slice()
        return YuvFrame(
            width, height,
            y = YuvPlane(randomDirectBuffer(width * height, random), rowStride = width, pixelStride = 1),
            u = YuvPlane(u, rowStride = chromaRowStride, pixelStride = 2),
            v = YuvPlane(v, rowStride = chromaRowStride, pixelStride = 2),
            rotationDegrees = YUV_ROTATION,
        )
    }

    private fun randomDirectBuffer(size: Int, random: Random): ByteBuffer {
        val bytes = ByteArray(size).also { random.nextBytes(it) }
        return ByteBuffer.allocateDirect(size).put(bytes).apply { flip() }
    }

    private companion object {
        const val TAG = "mnv3-sdk-bench"
        const val ARGB = "argb"
        const val YUV = "yuv"
        const val YUV_ROTATION = 90
    }
}

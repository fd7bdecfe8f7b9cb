package com.example.mnv3.demo

import java.io.File
import java.io.FileOutputStream
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import org.json.JSONArray
import org.json.JSONObject

/**
 * The JSON that [BenchmarkActivity] leaves in `files/mnv3_benchmark.json` for
 * `mnv3-sdk bench --adb`; plain Kotlin, tested on the JVM.
 */
internal object BenchmarkResult {
    fun success(
        model: String,
        device: String,
        threads: Int,
        numThreadsInUse: Int,
        warmup: Int,
        loadMs: Double,
        firstInferenceMs: Double,
        iterationsMs: DoubleArray,
        pssKb: Long,
        frame: EndToEnd? = null,
    ): JSONObject = JSONObject()
        .put("model", model)
        .put("device", device)
        .put("threads", threads)
        .put("num_threads_in_use", numThreadsInUse)
        .put("warmup", warmup)
        .put("load_ms", loadMs)
        .put("first_inference_ms", firstInferenceMs)
        .put("iterations_ms", JSONArray().apply { iterationsMs.forEach { put(it) } })
        .put("pss_kb", pssKb)
        .apply {
            if (frame != null) {
                put("frame_width", frame.width)
                put("frame_height", frame.height)
                put("frame_format", frame.format)
                put("frame_rotation", frame.rotationDegrees)
                put("preprocessing_ms", JSONArray().apply { frame.preprocessingMs.forEach { put(it) } })
            }
        }

    /**
     * End-to-end mode: each iteration classified a [width]×[height] frame; `iterations_ms` is then
     * still the forward pass alone and [preprocessingMs] the same iterations' preprocessing.
     * [format] is the pipeline timed, `argb` (ARGB_8888 pixels) or `yuv` (a YUV_420_888 camera
     * frame, turned [rotationDegrees] from upright).
     */
    class EndToEnd(
        val width: Int,
        val height: Int,
        val preprocessingMs: DoubleArray,
        val format: String = "argb",
        val rotationDegrees: Int = 0,
    )

    /**
     * A failed run: `error` (the exception as text), `error_type`, and `error_code` when ExecuTorch
     * reported one (`runtime/core/error.h`'s value, e.g. 0x23 for an invalid program).
     */
    fun failure(error: Throwable, errorCode: Int?): JSONObject = JSONObject()
        .put("error", error.toString())
        .put("error_type", error.javaClass.name)
        .apply { if (errorCode != null) put("error_code", errorCode) }

    /**
     * Writes [result] to [file] through a synced temporary file renamed into place: the host reads
     * the file as soon as it exists, so it must never see it half written.
     */
    fun write(file: File, result: JSONObject) {
        val temporary = Files.createTempFile(file.absoluteFile.parentFile.toPath(), "${file.name}.", ".tmp")
        try {
            FileOutputStream(temporary.toFile()).use { output ->
                output.write(result.toString().toByteArray(Charsets.UTF_8))
                output.fd.sync()
            }
            Files.move(temporary, file.toPath(), StandardCopyOption.ATOMIC_MOVE)
        } finally {
            Files.deleteIfExists(temporary)
        }
    }
}

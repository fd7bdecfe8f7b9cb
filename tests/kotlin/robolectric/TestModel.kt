// Shared by the Robolectric tests: a model file the ExecuTorch test double opens
// (tests/kotlin/executorch_test_double/), with the metadata mnv3-sdk embeds, and the app's assets.
package com.example.mnv3.robolectric

import android.content.Context
import java.io.File
import java.nio.FloatBuffer
import java.util.concurrent.CountDownLatch
import org.json.JSONArray
import org.json.JSONObject
import org.pytorch.executorch.TestPrograms
import org.robolectric.RuntimeEnvironment

object TestModel {
    val LABELS = List(10) { "class$it" }

    fun context(): Context = RuntimeEnvironment.getApplication()

    /** format mnv3-sdk/2, a Small int8 model of [size] px taking RGB 0-255 (normalised in its graph). */
    fun metadata(size: Int = 8, labels: List<String> = LABELS): ByteArray = JSONObject()
        .put("format", "mnv3-sdk/2")
        .put("model", JSONObject().put("arch", "mobilenet_v3_small"))
        .put("quant", "int8")
        .put("labels", JSONArray(labels))
        .put("input", JSONObject()
            .put("dtype", "float32")
            .put("shape", JSONArray(listOf(1, 3, size, size)))
            .put("normalized_in_graph", true)
            .put("crop_fraction", 1.0)
            .put("mean", JSONArray(listOf(0.485, 0.456, 0.406)))
            .put("std", JSONArray(listOf(0.229, 0.224, 0.225))))
        .toString().toByteArray(Charsets.UTF_8)

    /**
     * A model file the test double opens as a program whose logits favour the class of the input's
     * mean red value (so a test can tell which pixels were classified), or as [logits] says.
     */
    fun file(metadata: ByteArray? = metadata(), logits: (FloatArray) -> FloatArray = ::byMeanRed): File {
        val file = File.createTempFile("model", ".pte", context().cacheDir)
        file.writeText("mnv3-sdk robolectric test model ${System.nanoTime()} ${Math.random()}\n")
        TestPrograms.register(file, metadata, logits)
        return file
    }

    /**
     * A model file whose forward reads the input tensor's own buffer (as ExecuTorch's native code
     * does, see TestPrograms.registerReadingInPlace) instead of a copy.
     */
    fun fileReadingInPlace(metadata: ByteArray, logits: (FloatBuffer) -> FloatArray): File {
        val file = File.createTempFile("model", ".pte", context().cacheDir)
        file.writeText("mnv3-sdk robolectric test model ${System.nanoTime()} ${Math.random()}\n")
        TestPrograms.registerReadingInPlace(file, metadata, logits)
        return file
    }

    /** Logits whose best class is the mean of the red plane (0-255) divided into LABELS.size bands. */
    fun byMeanRed(input: FloatArray): FloatArray {
        val plane = input.size / 3
        val mean = (0 until plane).sumOf { input[it].toDouble() } / plane
        val best = (mean / 256 * LABELS.size).toInt().coerceIn(0, LABELS.size - 1)
        return FloatArray(LABELS.size) { if (it == best) 10f else 0f }
    }

    /** A model whose forward pass signals [inForward], then waits for [proceed]. */
    class Blocking {
        val inForward = CountDownLatch(1)
        val proceed = CountDownLatch(1)
        val file = file { input ->
            inForward.countDown()
            proceed.await()
            byMeanRed(input)
        }
    }
}

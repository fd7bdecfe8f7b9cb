// The demo's BenchmarkActivity (debug builds only) run on Robolectric as `mnv3-sdk bench --adb`
// starts it (sdk/mnv3_sdk/bench/device.py: `am start` with these extras, then reads
// files/mnv3_benchmark.json): what it writes on success, and that every failure is written there too.
package com.example.mnv3.robolectric

import android.os.SystemClock
import com.example.mnv3.demo.BenchmarkActivity
import java.io.File
import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.ExecutorchRuntimeException
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class BenchmarkActivityTest : WatchedForCrashes() {
    @Test
    fun aRunReportsEveryIterationAndTheLoadTimeTheLibraryMeasures() {
        val model = TestModel.file()
        // Module.load and loadMethod take 7 and 3 ms of Robolectric's clock, reading the metadata
        // 100: the reported load time is the library's loadTimeMs (LoadTest), not a clock of the activity's.
        TestPrograms.onCall = { call ->
            SystemClock.sleep(mapOf("load" to 7L, "loadMethod forward" to 3L, "execute metadata" to 100L)[call] ?: 0L)
        }
        val result = DemoApp.benchmark("warmup" to 2, "iterations" to 5, "model" to model.path)
        assertFalse(result.toString(), result.has("error"))
        assertEquals(model.path, result.getString("model"))
        assertEquals(10.0, result.getDouble("load_ms"), 0.0)
        assertEquals(2, result.getInt("warmup"))
        assertEquals(5, result.getJSONArray("iterations_ms").length())
        assertFalse(result.has("preprocessing_ms"))
    }

    @Test
    fun aRunWithoutAModelPathUsesTheBundledModel() {
        DemoApp.registerBundledModel()
        val result = DemoApp.benchmark("warmup" to 0, "iterations" to 1)
        assertFalse(result.toString(), result.has("error"))
        assertEquals("asset:" + com.example.mnv3.MobileNetV3Classifier.DEFAULT_MODEL_ASSET, result.getString("model"))
    }

    @Test
    fun anEndToEndCameraFrameRunTimesPreprocessingToo() {
        val model = TestModel.file()
        val result = DemoApp.benchmark("warmup" to 1, "iterations" to 3, "model" to model.path,
                               "frame_width" to 64, "frame_height" to 48, "frame_format" to "yuv")
        assertFalse(result.toString(), result.has("error"))
        assertEquals(listOf(64, 48, 90), listOf("frame_width", "frame_height", "frame_rotation").map(result::getInt))
        assertEquals("yuv", result.getString("frame_format"))
        assertEquals(3, result.getJSONArray("preprocessing_ms").length())
    }

    @Test
    fun everyFailureIsWrittenAsAResultWithExecutorchsErrorCode() {
        val missing = DemoApp.benchmark("model" to "/data/local/tmp/no such \"model\".pte")
        assertEquals("java.lang.IllegalArgumentException", missing.getString("error_type"))
        assertTrue(missing.getString("error"), "no such \"model\".pte" in missing.getString("error"))
        assertFalse(missing.has("error_code"))

        // A file ExecuTorch cannot load: its error code (runtime/core/error.h; the test double's
        // Module.load says Internal for a file it does not know) reaches the host.
        val notAModel = File.createTempFile("not-a-model", ".pte", TestModel.context().cacheDir).apply { writeText("junk") }
        val refused = DemoApp.benchmark("model" to notAModel.path)
        assertTrue(refused.toString(), refused.has("error_code"))
        assertEquals(ExecutorchRuntimeException.INTERNAL, refused.getInt("error_code"))

        val badFormat = DemoApp.benchmark("model" to TestModel.file().path, "frame_format" to "rgb565")
        assertEquals("java.lang.IllegalArgumentException: frame_format is argb or yuv, got rgb565", badFormat.getString("error"))

        // An Error, not an Exception (as UnsatisfiedLinkError or OutOfMemoryError): still a result.
        val model = TestModel.file { throw OutOfMemoryError("no room for the logits") }
        val outOfMemory = DemoApp.benchmark("warmup" to 0, "iterations" to 1, "model" to model.path)
        assertEquals("java.lang.OutOfMemoryError", outOfMemory.getString("error_type"))
    }
}

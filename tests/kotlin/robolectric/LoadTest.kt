// What create() measures and refuses, on Robolectric with the ExecuTorch test double.
package com.example.mnv3.robolectric

import android.os.SystemClock
import com.example.mnv3.ClassifierException
import com.example.mnv3.MobileNetV3Classifier
import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class LoadTest {
    @Before
    fun setUp() = TestPrograms.reset()

    /**
     * loadTimeMs is Module.load plus loadMethod("forward") and nothing else, as ExecuTorch's
     * benchmark app reports load time (extension/benchmark/android/.../ModelRunner.kt): the calls
     * take 7, 3 and 100 ms of Robolectric's clock (SystemClock.sleep advances it), and reading the
     * metadata is not counted.
     */
    @Test
    fun loadTimeIsModuleLoadAndLoadMethodOnly() {
        val model = TestModel.file()
        val calls = ArrayList<String>()
        TestPrograms.onCall = { call ->
            calls.add(call)
            SystemClock.sleep(mapOf("load" to 7L, "loadMethod forward" to 3L, "execute metadata" to 100L)[call] ?: 1000L)
        }
        MobileNetV3Classifier.createFromFile(model).use { classifier ->
            assertEquals(listOf("load", "loadMethod forward", "execute metadata"), calls)
            assertEquals(10.0, classifier.loadTimeMs, 0.0)
        }
    }

    /**
     * A .pte made without mnv3-sdk has no `metadata` method; ExecuTorch's own message for calling it
     * is "Cannot get method names [Native Error: 0x12]" (jni_layer.cpp). create() says what is wrong
     * and what to do in one sentence, and frees the module it loaded.
     */
    @Test
    fun aModelWithoutMetadataIsRefusedWithWhatToDo() {
        val model = TestModel.file(metadata = null)
        try {
            MobileNetV3Classifier.createFromFile(model)
            fail("a model without metadata was accepted")
        } catch (refused: ClassifierException) {
            assertEquals(
                "${model.name} has no 'metadata' method, so it was not made by mnv3-sdk: " +
                    "export the model with `mnv3-sdk build`, which embeds its labels and input size",
                refused.message,
            )
        }
        assertEquals(1, TestPrograms.closes.get())
    }
}

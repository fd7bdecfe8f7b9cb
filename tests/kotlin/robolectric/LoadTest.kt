// What create() measures and refuses, on Robolectric with the ExecuTorch test double.
package com.example.mnv3.robolectric

import android.os.SystemClock
import com.example.mnv3.MobileNetV3Classifier
import org.junit.Assert.assertEquals
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
}

// Issue 23 item 2: on a device whose ABI executorch-android has no native library for (32-bit
// ARM), Module's static initializer throws UnsatisfiedLinkError, then every later use
// NoClassDefFoundError. Run in a JVM of its own with the test double's missing-ABI property set
// (tests/test_robolectric.py), since a class fails to initialise once per class loader.
package com.example.mnv3.robolectric

import android.os.Build
import com.example.mnv3.MobileNetV3Classifier
import com.example.mnv3.UnsupportedDeviceException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.shadows.ShadowBuild

@RunWith(RobolectricTestRunner::class)
class MissingAbiTest {
    @Test
    fun createThrowsTheLibrarysExceptionNamingTheDeviceAndSupportedAbisEveryTime() {
        ShadowBuild.setSupportedAbis(arrayOf("armeabi-v7a", "armeabi"))
        val model = TestModel.file()
        val causes = (1..2).map {
            try {
                MobileNetV3Classifier.createFromFile(model)
                fail("created a classifier without the native library")
                error("unreachable")
            } catch (refused: UnsupportedDeviceException) {
                assertEquals(listOf("armeabi-v7a", "armeabi"), refused.deviceAbis)
                assertEquals(listOf("arm64-v8a", "x86_64"), refused.supportedAbis)
                assertTrue(refused.message!!, refused.message!!.contains("armeabi-v7a") && refused.message!!.contains("arm64-v8a"))
                refused.cause!!.javaClass.simpleName
            }
        }
        // The first attempt meets the failed static initializer, the second the class it left unusable.
        assertEquals(listOf("UnsatisfiedLinkError", "NoClassDefFoundError"), causes)
        assertEquals(Build.SUPPORTED_ABIS.toList(), listOf("armeabi-v7a", "armeabi"))
        // The demo's benchmark, which `mnv3-sdk bench --adb` starts, writes it as its result
        // instead of dying: the host reads a failure, not a timeout.
        val benchmark = DemoApp.benchmark("model" to model.path)
        assertEquals(UnsupportedDeviceException::class.java.name, benchmark.getString("error_type"))
        assertTrue(benchmark.getString("error"), "armeabi-v7a" in benchmark.getString("error"))
    }
}

// The demo's MainActivity run on Robolectric (its compiled classes, the library's, and the ExecuTorch
// test double): the model loads, classifies and closes on the activity's one worker thread, never
// the main thread; failures are shown, not thrown; a model still loading when the activity is
// destroyed is closed once loaded; the camera button follows the camera feature.
package com.example.mnv3.robolectric

import android.content.pm.PackageManager
import android.os.Looper
import com.example.mnv3.demo.CameraActivity
import com.example.mnv3.demo.MainActivity
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController

@RunWith(RobolectricTestRunner::class)
class MainActivityTest : WatchedForCrashes() {
    /** Records the thread of every call into ExecuTorch. */
    private fun threadsOfCalls(): MutableList<Pair<String, Thread>> {
        val calls = Collections.synchronizedList(ArrayList<Pair<String, Thread>>())
        TestPrograms.onCall = { call -> calls.add(call to Thread.currentThread()) }
        return calls
    }

    /** Starts MainActivity; the sample photo is read through the activity's own AssetManager. */
    private fun launch(): ActivityController<MainActivity> =
        Robolectric.buildActivity(MainActivity::class.java).setup().also { DemoApp.installAssets(it.get().assets) }

    @Test
    fun theBundledModelLoadsClassifiesTheSampleAndClosesOnOneWorkerThread() {
        DemoApp.registerBundledModel()
        val calls = threadsOfCalls()
        val controller = launch()
        val activity = controller.get()
        DemoApp.drainWorker(activity)
        assertEquals("Model ready: mobilenet_v3_small, int8", DemoApp.status(activity))

        DemoApp.button(activity, "Use the sample photo").performClick()
        DemoApp.drainWorker(activity)
        val lines = DemoApp.status(activity).lines()
        // The top 5 of the model's 10 labels, best first, then the times the library measured.
        assertEquals(DemoApp.status(activity), 7, lines.size)
        lines.take(5).forEach { assertTrue(it, Regex("""\d+\.\d%  class\d""").matches(it)) }
        assertEquals("", lines[5])
        assertTrue(lines[6], Regex("""preprocessing \d+\.\d ms \+ inference \d+\.\d ms = \d+\.\d ms""").matches(lines[6]))

        controller.pause().stop().destroy()
        DemoApp.drainWorker(activity)
        assertEquals(1, TestPrograms.closes.get())
        assertEquals(listOf("load", "loadMethod forward", "execute metadata", "execute forward"), calls.map { it.first })
        val threads = calls.map { it.second }.toSet()
        assertEquals("one worker thread", 1, threads.size)
        assertNotEquals(Looper.getMainLooper().thread, threads.single())
    }

    @Test
    fun aModelThatCannotLoadIsShownAndTheSampleButtonSaysSo() {
        // Nothing registered: the test double's Module.load fails as ExecuTorch does on a bad file.
        val activity = launch().get()
        DemoApp.drainWorker(activity)
        val status = DemoApp.status(activity)
        assertTrue(status, status.startsWith("Cannot load the model: "))
        DemoApp.button(activity, "Use the sample photo").performClick()
        DemoApp.drainWorker(activity)
        assertEquals("The model is not loaded", DemoApp.status(activity))
    }

    @Test
    fun aFailingClassificationIsShownNotThrown() {
        DemoApp.registerBundledModel { error("the forward pass failed") }
        val activity = launch().get()
        DemoApp.drainWorker(activity)
        DemoApp.button(activity, "Use the sample photo").performClick()
        DemoApp.drainWorker(activity)
        val status = DemoApp.status(activity)
        assertTrue(status, status.startsWith("Cannot classify that image: ") && "the forward pass failed" in status)
    }

    @Test
    fun aModelStillLoadingWhenTheActivityIsDestroyedIsClosedOnceLoaded() {
        DemoApp.registerBundledModel()
        val inLoad = CountDownLatch(1)
        val proceed = CountDownLatch(1)
        TestPrograms.onCall = { call ->
            if (call == "load") {
                inLoad.countDown()
                proceed.await()
            }
        }
        val controller = launch()
        val activity = controller.get()
        assertTrue(inLoad.await(30, TimeUnit.SECONDS))
        controller.pause().stop().destroy()
        assertEquals(0, TestPrograms.closes.get())
        proceed.countDown()
        DemoApp.drainWorker(activity)
        assertEquals(1, TestPrograms.closes.get())
        // The load finished after onDestroy: nothing was shown on the destroyed activity.
        assertEquals("Loading the model…", DemoApp.status(activity))
        assertTrue(DemoApp.worker(activity).isTerminated)
    }

    @Test
    fun theCameraButtonIsEnabledOnlyWithACameraAndOpensTheCameraScreen() {
        DemoApp.registerBundledModel()
        val without = launch().get()
        assertFalse(DemoApp.button(without, "Classify the camera live").isEnabled)

        shadowOf(TestModel.context().packageManager).setSystemFeature(PackageManager.FEATURE_CAMERA_ANY, true)
        val with = launch().get()
        val camera = DemoApp.button(with, "Classify the camera live")
        assertTrue(camera.isEnabled)
        camera.performClick()
        assertEquals(CameraActivity::class.java.name, shadowOf(with).nextStartedActivity.component!!.className)
        DemoApp.drainWorker(without)
        DemoApp.drainWorker(with)
    }
}

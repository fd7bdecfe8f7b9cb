// Shared by the tests that run the demo app's activities (MainActivityTest, BenchmarkActivityTest,
// CameraActivityTest, MissingAbiTest): the app's assets and the bundled model as the test double
// knows it, the views a user reads and taps, and waiting for the activities' own threads without
// sleeping.
package com.example.mnv3.robolectric

import android.app.Activity
import android.content.Intent
import android.content.res.AssetManager
import android.os.Looper
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.TextView
import com.example.mnv3.MobileNetV3Classifier
import com.example.mnv3.demo.BenchmarkActivity
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.TimeUnit
import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.pytorch.executorch.TestPrograms
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf

object DemoApp {
    /**
     * Makes the app's assets readable through [assets] (the application's, or an activity's: each
     * activity has a context of its own), as an installed APK's are: Robolectric's binary
     * resources read assets from a resource APK only, which aapt2 links, and aapt2 is on Google's
     * Maven, out of reach here. tests/robolectric.py zips the test's assets folder (entries stored,
     * so openFd works as on a phone) and names it in `mnv3.test.assets`; AssetManager.addAssetPath
     * (hidden: what the framework itself calls for an APK's paths) adds it.
     */
    fun installAssets(assets: AssetManager = TestModel.context().assets) {
        val zip = System.getProperty("mnv3.test.assets") ?: error("mnv3.test.assets is not set")
        val added = assets.javaClass.getMethod("addAssetPath", String::class.java).invoke(assets, zip) as Int
        assertTrue("AssetManager.addAssetPath($zip) failed", added != 0)
    }

    /**
     * Makes the model in the app's assets (tests/test_robolectric.py puts bytes there under the
     * library's asset path) a program the test double opens, with [TestModel.metadata].
     */
    fun registerBundledModel(logits: (FloatArray) -> FloatArray = TestModel::byMeanRed) {
        installAssets()
        val context = TestModel.context()
        val bytes = context.assets.open(MobileNetV3Classifier.DEFAULT_MODEL_ASSET).use { it.readBytes() }
        // Programs are keyed by the file's bytes: the copy create() makes in app storage matches.
        val file = File.createTempFile("bundled", ".pte", context.cacheDir).apply { writeBytes(bytes) }
        TestPrograms.register(file, TestModel.metadata(), logits)
    }

    /** Every view under the activity's content view, depth first. */
    fun views(activity: Activity): List<View> {
        val found = ArrayList<View>()
        fun visit(view: View) {
            found.add(view)
            if (view is ViewGroup) for (i in 0 until view.childCount) visit(view.getChildAt(i))
        }
        visit(activity.findViewById(android.R.id.content))
        return found
    }

    fun button(activity: Activity, label: String): Button =
        views(activity).filterIsInstance<Button>().single { it.text.toString() == label }

    /** The one text the activity shows that is not a button's: its status or its results. */
    fun status(activity: Activity): String =
        views(activity).filter { it is TextView && it !is Button }.map { (it as TextView).text.toString() }.single()

    /**
     * Waits until everything queued on the activity's single-thread `worker` so far has run (a task
     * queued behind them returns), then runs what they posted to the main thread. The field is
     * private: read by reflection, which is the test's business alone.
     */
    fun drainWorker(activity: Activity) {
        val worker = worker(activity)
        if (worker.isShutdown) {
            assertTrue("the worker ended", worker.awaitTermination(30, TimeUnit.SECONDS))
        } else {
            worker.submit {}.get(30, TimeUnit.SECONDS)
        }
        idleMain()
    }

    fun worker(activity: Activity): ExecutorService = checkNotNull(field(activity, "worker"))

    /** The activity's private field [name]: what it holds open is the test's business alone. */
    fun <T> field(activity: Activity, name: String): T? =
        @Suppress("UNCHECKED_CAST")
        (activity.javaClass.getDeclaredField(name).apply { isAccessible = true }.get(activity) as T?)

    /** Runs what other threads have posted to the main thread so far. */
    fun idleMain() = shadowOf(Looper.getMainLooper()).idle()

    /** Joins the thread called [name] (started by the activity under test), then runs what it posted. */
    fun joinThread(name: String) {
        val threads = Thread.getAllStackTraces().keys.filter { it.name == name }
        threads.forEach { it.join(30_000) }
        assertTrue("$name did not end", threads.none { it.isAlive })
        idleMain()
    }

    /**
     * Starts BenchmarkActivity with [extras] (as `am start --ei/--es` does), waits for its
     * benchmark thread and returns the result file it wrote, which `mnv3-sdk bench --adb` reads.
     */
    fun benchmark(vararg extras: Pair<String, Any>): JSONObject {
        val context = TestModel.context()
        val resultFile = File(context.filesDir, "mnv3_benchmark.json")
        resultFile.delete()
        val intent = Intent(context, BenchmarkActivity::class.java)
        for ((key, value) in extras) {
            when (value) {
                is Int -> intent.putExtra(key, value)
                is String -> intent.putExtra(key, value)
                else -> error("extra $key: $value")
            }
        }
        val activity = Robolectric.buildActivity(BenchmarkActivity::class.java, intent).setup().get()
        joinThread("benchmark")
        assertTrue("it finishes once the result is written", activity.isFinishing)
        // Written atomically (BenchmarkResult.write): no temporary file is left beside it.
        assertEquals(listOf(resultFile.name), context.filesDir.list()!!.filter { it.startsWith(resultFile.name) })
        return JSONObject(resultFile.readText())
    }
}

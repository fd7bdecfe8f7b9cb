package com.example.mnv3.demo

import android.app.Activity
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import android.os.Bundle
import android.util.Log
import android.widget.Button
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.TextView
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import com.example.mnv3.ExifOrientation
import com.example.mnv3.ImageProcessingOptions
import com.example.mnv3.MobileNetV3Classifier

/**
 * Pick a photo (or use the bundled sample) and show the model's top 5 with the inference time, or
 * open [CameraActivity] to classify the camera's frames live.
 */
class MainActivity : Activity() {
    // One thread loads the model, classifies and finally closes the model, in that order. The
    // classifier is only ever touched on it, so it needs no lock, and a model still loading when the
    // activity is destroyed is closed as soon as it is loaded.
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    private var classifier: MobileNetV3Classifier? = null
    private lateinit var image: ImageView
    private lateinit var results: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val padding = (16 * resources.displayMetrics.density).toInt()
        val pick = Button(this).apply { text = "Pick a photo" }
        val sample = Button(this).apply { text = "Use the sample photo" }
        val camera = Button(this).apply {
            text = "Classify the camera live"
            // The manifest makes the camera optional, so the app also installs where there is none.
            isEnabled = packageManager.hasSystemFeature(PackageManager.FEATURE_CAMERA_ANY)
        }
        image = ImageView(this).apply { adjustViewBounds = true }
        results = TextView(this).apply { text = "Loading the model…" }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(padding, padding, padding, padding)
            addView(pick)
            addView(sample)
            addView(camera)
            addView(results)
            addView(image)
        })

        pick.setOnClickListener {
            startActivityForResult(Intent(Intent.ACTION_GET_CONTENT).setType("image/*"), PICK_IMAGE)
        }
        sample.setOnClickListener {
            classifyInBackground { assets.open(SAMPLE_ASSET).use { BitmapFactory.decodeStream(it) } to 0 }
        }
        camera.setOnClickListener { startActivity(Intent(this, CameraActivity::class.java)) }
        // The application context: the classifier may outlive this activity for a moment.
        val context = applicationContext
        worker.execute {
            try {
                val loaded = MobileNetV3Classifier.create(context)
                classifier = loaded
                show("Model ready: ${loaded.metadata.architecture}, ${loaded.metadata.quantization.id}")
            } catch (error: Throwable) {
                // Also UnsatisfiedLinkError, when ExecuTorch has no native library for this device.
                Log.e(TAG, "cannot load the model", error)
                show("Cannot load the model: $error")
            }
        }
    }

    @Deprecated("Framework Activity result callback: the demo itself uses framework APIs only.")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        val uri: Uri = data?.data ?: return
        if (requestCode == PICK_IMAGE && resultCode == RESULT_OK) {
            // BitmapFactory decodes the pixels as stored: a portrait photo's EXIF says how to turn it upright.
            classifyInBackground { decodeScaled(uri) to contentResolver.openInputStream(uri)?.use(ExifOrientation::rotationDegrees) }
        }
    }

    /** Decodes (a bitmap and the clockwise rotation that makes it upright) and classifies on the worker. */
    private fun classifyInBackground(decode: () -> Pair<Bitmap?, Int?>) {
        worker.execute {
            val model = classifier ?: return@execute show("The model is not loaded")
            try {
                val (bitmap, rotation) = decode()
                if (bitmap == null || rotation == null) return@execute show("Cannot read that image")
                val result = model.classify(bitmap, ImageProcessingOptions(rotationDegrees = rotation))
                val lines = result.categories.joinToString("\n") { "%.1f%%  %s".format(it.score * 100, it.label) }
                runOnUiThread {
                    if (!isDestroyed) {
                        image.setImageBitmap(bitmap)
                        image.rotation = rotation.toFloat()
                        results.text = "%s\n\npreprocessing %.1f ms + inference %.1f ms = %.1f ms".format(
                            lines, result.preprocessingTimeMs, result.inferenceTimeMs, result.totalTimeMs,
                        )
                    }
                }
            } catch (error: Throwable) {
                // Also OutOfMemoryError, for a photo too large to decode.
                Log.e(TAG, "cannot classify", error)
                show("Cannot classify that image: $error")
            }
        }
    }

    private fun show(text: String) {
        runOnUiThread { if (!isDestroyed) results.text = text }
    }

    /** Decodes a photo at no more than about 2048 pixels on its short side, to bound memory. */
    private fun decodeScaled(uri: Uri): Bitmap? {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        contentResolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds) }
        var sampleSize = 1
        while (minOf(bounds.outWidth, bounds.outHeight) / (sampleSize * 2) >= 2048) sampleSize *= 2
        val options = BitmapFactory.Options().apply { inSampleSize = sampleSize }
        return contentResolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
    }

    override fun onDestroy() {
        // Queued behind a load or classification still running, so it closes whatever they leave.
        worker.execute {
            classifier?.close()
            classifier = null
        }
        worker.shutdown()
        super.onDestroy()
    }

    private companion object {
        const val TAG = "mnv3-sdk-demo"
        const val PICK_IMAGE = 1
        const val SAMPLE_ASSET = "sample.jpg"
    }
}

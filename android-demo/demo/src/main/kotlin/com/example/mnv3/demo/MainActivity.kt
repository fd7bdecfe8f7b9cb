package com.example.mnv3.demo

import android.app.Activity
import android.content.Intent
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import android.os.Bundle
import android.widget.Button
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.TextView
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import com.example.mnv3.MobileNetV3Classifier

/** Pick a photo (or use the bundled sample) and show the model's top 5 with the inference time. */
class MainActivity : Activity() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    private var classifier: MobileNetV3Classifier? = null
    private lateinit var image: ImageView
    private lateinit var results: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val padding = (16 * resources.displayMetrics.density).toInt()
        val pick = Button(this).apply { text = "Pick a photo" }
        val sample = Button(this).apply { text = "Use the sample photo" }
        image = ImageView(this).apply { adjustViewBounds = true }
        results = TextView(this).apply { text = "Loading the model…" }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(padding, padding, padding, padding)
            addView(pick)
            addView(sample)
            addView(results)
            addView(image)
        })

        pick.setOnClickListener {
            startActivityForResult(Intent(Intent.ACTION_GET_CONTENT).setType("image/*"), PICK_IMAGE)
        }
        sample.setOnClickListener {
            classifyInBackground { assets.open(SAMPLE_ASSET).use { BitmapFactory.decodeStream(it) } }
        }
        worker.execute {
            val loaded = MobileNetV3Classifier.create(this)
            runOnUiThread {
                classifier = loaded
                results.text = "Model ready: ${loaded.metadata.architecture}, ${loaded.metadata.quantization}"
            }
        }
    }

    @Deprecated("Framework Activity result callback; this app uses no androidx.")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        val uri: Uri = data?.data ?: return
        if (requestCode == PICK_IMAGE && resultCode == RESULT_OK) {
            classifyInBackground { decodeScaled(uri) }
        }
    }

    private fun classifyInBackground(decode: () -> Bitmap?) {
        worker.execute {
            val bitmap = decode() ?: return@execute runOnUiThread { results.text = "Cannot read that image" }
            val model = classifier ?: return@execute
            val result = model.classify(bitmap)
            val lines = result.categories.joinToString("\n") { "%.1f%%  %s".format(it.score * 100, it.label) }
            runOnUiThread {
                image.setImageBitmap(bitmap)
                results.text = "%s\n\ninference %.1f ms".format(lines, result.inferenceTimeMs)
            }
        }
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
        worker.execute { classifier?.close() }
        worker.shutdown()
        super.onDestroy()
    }

    private companion object {
        const val PICK_IMAGE = 1
        const val SAMPLE_ASSET = "sample.jpg"
    }
}

package com.example.mnv3.demo

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.pm.PackageManager
import android.graphics.Color
import android.graphics.ImageFormat
import android.graphics.Matrix
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraAccessException
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.display.DisplayManager
import android.media.Image
import android.media.ImageReader
import android.os.Build
import android.os.Bundle
import android.os.Handler
import android.os.HandlerThread
import android.os.Looper
import android.util.Log
import android.util.Size
import android.view.Display
import android.view.Gravity
import android.view.Surface
import android.view.TextureView
import android.view.ViewGroup
import android.widget.FrameLayout
import android.widget.TextView
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import com.example.mnv3.MobileNetV3Classifier
import com.example.mnv3.ImageProcessingOptions
import com.example.mnv3.LiveResult
import com.example.mnv3.LiveStream
import com.example.mnv3.LiveStreamListener

/**
 * Classifies what the back camera sees, live: a Camera2 preview on a [TextureView], and
 * YUV_420_888 frames from an [ImageReader] into the classifier's [LiveStream], which always takes
 * the newest frame. What is classified is what the preview shows, not the central square of the
 * whole frame (see [updateProcessing]). Shows the top 3, the frames classified per second and the preprocessing and
 * inference times. Everything is opened in [onResume] and released in [onPause], so the camera is
 * free for other apps while this one is in the background.
 */
class CameraActivity : Activity() {
    // Loads, uses and closes the classifier, one task at a time: the load queued by onResume, the
    // stream's classifications, and the release queued by onPause. The classifier is only touched on
    // it, so it needs no lock, and the release always runs after the frame still being classified.
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    private var classifier: MobileNetV3Classifier? = null

    private val mainHandler = Handler(Looper.getMainLooper())
    private lateinit var preview: TextureView
    private lateinit var results: TextView

    // What onResume opens and onPause releases. Main thread only: the camera and session callbacks
    // run there too, so a camera that finishes opening after onPause is seen and closed at once.
    private var frameThread: HandlerThread? = null
    private var imageReader: ImageReader? = null
    private var stream: LiveStream<Image>? = null
    private var opening: CameraCallback? = null
    private var camera: CameraDevice? = null
    private var session: CameraCaptureSession? = null
    private var cameraId: String? = null
    private var previewSize: Size? = null
    private var frameSize: Size? = null
    private var sensorOrientation = 0
    private var frontFacing = false
    private var resumed = false
    private var permissionRequested = false

    // The clockwise rotation that turns a frame upright on the display as it is now.
    private var rotationDegrees = 0

    // What each frame is classified with (its rotation, and the part of it the preview shows):
    // written on the main thread when the display turns or the view changes size, read for each
    // frame on the worker, one object so a frame never gets the rotation of one and the region of another.
    @Volatile
    private var processing = ImageProcessingOptions.DEFAULT

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // Asked once per visit: the permission dialog pauses and resumes the activity, and asking
        // again in onResume after a refusal would put the dialog back up for ever.
        permissionRequested = savedInstanceState?.getBoolean(PERMISSION_REQUESTED) ?: false
        val padding = (16 * resources.displayMetrics.density).toInt()
        preview = TextureView(this)
        results = TextView(this).apply {
            setTextColor(Color.WHITE)
            setBackgroundColor(Color.argb(160, 0, 0, 0))
            setPadding(padding, padding, padding, padding)
        }
        setContentView(FrameLayout(this).apply {
            addView(preview, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.MATCH_PARENT))
            addView(results, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT, Gravity.BOTTOM))
        })
        preview.surfaceTextureListener = object : TextureView.SurfaceTextureListener {
            override fun onSurfaceTextureAvailable(surface: SurfaceTexture, width: Int, height: Int) {
                configureTransform()
                openCamera()
            }

            override fun onSurfaceTextureSizeChanged(surface: SurfaceTexture, width: Int, height: Int) = configureTransform()

            override fun onSurfaceTextureDestroyed(surface: SurfaceTexture) = true

            override fun onSurfaceTextureUpdated(surface: SurfaceTexture) = Unit
        }
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        outState.putBoolean(PERMISSION_REQUESTED, permissionRequested)
    }

    override fun onResume() {
        super.onResume()
        resumed = true
        (getSystemService(Context.DISPLAY_SERVICE) as DisplayManager).registerDisplayListener(displayListener, mainHandler)
        when {
            checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED -> startCamera()
            !permissionRequested -> {
                permissionRequested = true
                results.text = "Waiting for the camera permission…"
                requestPermissions(arrayOf(Manifest.permission.CAMERA), CAMERA_PERMISSION_REQUEST)
            }
            else -> results.text = PERMISSION_REFUSED
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        if (requestCode != CAMERA_PERMISSION_REQUEST) return
        // Empty results mean the request was interrupted: a refusal for now (Activity.onRequestPermissionsResult).
        if (grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED) {
            // Usually delivered before the onResume that follows the dialog, which then starts the camera.
            if (resumed) startCamera()
        } else {
            results.text = PERMISSION_REFUSED
        }
    }

    override fun onPause() {
        resumed = false
        (getSystemService(Context.DISPLAY_SERVICE) as DisplayManager).unregisterDisplayListener(displayListener)
        stopCamera()
        super.onPause()
    }

    override fun onDestroy() {
        // Queued behind the release onPause queued, so the worker ends once the classifier is closed.
        worker.shutdown()
        super.onDestroy()
    }

    /** Picks the camera and sizes, queues the model's load, and opens the camera once the preview can show it. */
    private fun startCamera() {
        if (frameThread != null) return // the permission result and onResume can both get here
        val manager = getSystemService(Context.CAMERA_SERVICE) as CameraManager
        val frames: Size
        try {
            val id = chooseCamera(manager) ?: return show("This device has no camera")
            val characteristics = manager.getCameraCharacteristics(id)
            val formats = characteristics.get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP)
                ?: return show("Camera $id reports no output sizes")
            frames = chooseFrameSize(formats.getOutputSizes(ImageFormat.YUV_420_888) ?: emptyArray())
                ?: return show("Camera $id cannot deliver YUV_420_888 frames")
            previewSize = choosePreviewSize(formats.getOutputSizes(SurfaceTexture::class.java) ?: emptyArray(), frames)
            sensorOrientation = characteristics.get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 0
            frontFacing = characteristics.get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_FRONT
            cameraId = id
            frameSize = frames
        } catch (error: CameraAccessException) {
            Log.e(TAG, "cannot read the cameras", error)
            return show("Cannot use the camera: $error")
        }
        updateRotation()
        results.text = "Loading the model…"

        // The application context: the classifier may outlive this activity for a moment.
        val context = applicationContext
        worker.execute {
            try {
                classifier = MobileNetV3Classifier.create(context, MobileNetV3Classifier.Options(maxResults = 3))
            } catch (error: Throwable) {
                // Also UnsatisfiedLinkError, when ExecuTorch has no native library for this device.
                Log.e(TAG, "cannot load the model", error)
                show("Cannot load the model: $error")
            }
        }
        // Built here rather than with openLiveStream (one rotation for the whole stream, on the
        // classifier's own thread): each frame gets the display's rotation and the preview's
        // visible region at the time it is classified, and the classifications queue on this
        // activity's worker behind the model's load.
        val liveStream = LiveStream<Image>(
            classify = { image -> checkNotNull(classifier) { "the model is not loaded" }.classify(image, processing) },
            // The reader has MAX_IMAGES buffers: a frame not closed is one the camera cannot fill again.
            release = Image::close,
            listener = ResultsListener(),
            executor = worker,
        )
        // Frames arrive on a thread of their own, so the main thread never waits for one, and are
        // handed to the stream there: submit never waits for a classification.
        val thread = HandlerThread("camera-frames").apply { start() }
        val reader = ImageReader.newInstance(frames.width, frames.height, ImageFormat.YUV_420_888, MAX_IMAGES)
        reader.setOnImageAvailableListener({ source ->
            // The newest frame; older ones are closed at once (ImageReader.acquireLatestImage).
            val image = source.acquireLatestImage() ?: return@setOnImageAvailableListener
            liveStream.submit(image, image.timestamp)
        }, Handler(thread.looper))
        frameThread = thread
        imageReader = reader
        stream = liveStream
        if (preview.isAvailable) {
            configureTransform()
            openCamera()
        } // else onSurfaceTextureAvailable opens it
    }

    private fun openCamera() {
        val id = cameraId ?: return
        if (frameThread == null || opening != null || camera != null) return
        // Checked again where the camera is opened, which needs it (lint's MissingPermission looks here).
        if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) return
        val callback = CameraCallback()
        opening = callback
        try {
            (getSystemService(Context.CAMERA_SERVICE) as CameraManager).openCamera(id, callback, mainHandler)
        } catch (error: CameraAccessException) {
            // Disabled by a device policy, or taken by a higher-priority app.
            opening = null
            Log.e(TAG, "cannot open camera $id", error)
            show("Cannot open the camera: $error")
        }
    }

    /** One camera opening; its callbacks run on the main thread. */
    private inner class CameraCallback : CameraDevice.StateCallback() {
        override fun onOpened(device: CameraDevice) {
            if (opening !== this) {
                // Opened for an earlier onResume, after onPause had released everything else.
                device.close()
                return
            }
            opening = null
            camera = device
            startSession(device)
        }

        override fun onDisconnected(device: CameraDevice) {
            forget(device)
            show("The camera was taken by another app; leave this screen and come back to retry")
        }

        override fun onError(device: CameraDevice, error: Int) {
            forget(device)
            // CameraDevice.StateCallback.ERROR_*: 1 in use, 2 too many cameras open, 3 disabled, 4 device, 5 service.
            show("Camera error $error")
        }

        private fun forget(device: CameraDevice) {
            device.close()
            if (opening === this) opening = null
            if (camera === device) {
                camera = null
                session = null
            }
        }
    }

    private fun startSession(device: CameraDevice) {
        val texture = preview.surfaceTexture ?: return
        val size = previewSize ?: return
        val frames = imageReader ?: return
        texture.setDefaultBufferSize(size.width, size.height)
        val previewSurface = Surface(texture)
        val callback = object : CameraCaptureSession.StateCallback() {
            override fun onConfigured(configured: CameraCaptureSession) {
                if (camera !== device) {
                    // The camera was closed while the session was being configured.
                    configured.close()
                    return
                }
                session = configured
                try {
                    val request = device.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                        addTarget(previewSurface)
                        addTarget(frames.surface)
                    }.build()
                    configured.setRepeatingRequest(request, null, null)
                } catch (error: CameraAccessException) {
                    Log.e(TAG, "cannot start the preview", error)
                    show("Cannot start the camera: $error")
                }
            }

            override fun onConfigureFailed(failed: CameraCaptureSession) {
                show("The camera cannot stream a ${size.width}×${size.height} preview and ${frames.width}×${frames.height} frames at once")
            }
        }
        try {
            // SessionConfiguration, which replaces this call, needs API 28; the demo runs from API 26.
            @Suppress("DEPRECATION")
            device.createCaptureSession(listOf(previewSurface, frames.surface), callback, mainHandler)
        } catch (error: CameraAccessException) {
            Log.e(TAG, "cannot create the capture session", error)
            show("Cannot start the camera: $error")
        }
    }

    /** Releases what [startCamera] opened, in the order that keeps every frame's buffers valid while it is read. */
    private fun stopCamera() {
        opening = null // a camera still opening is closed when it opens
        session?.close()
        session = null
        camera?.close()
        camera = null
        val thread = frameThread ?: return
        val reader = imageReader
        // No new frames: the listener goes, then its thread, once a callback in progress has
        // returned (it only hands a frame to the stream, which never blocks).
        reader?.setOnImageAvailableListener(null, null)
        thread.quitSafely()
        thread.join()
        // Closes the waiting frame and waits, at most one classification, for the frame in flight to
        // be closed: after it, none of the reader's images is read any more.
        stream?.close()
        // Closing the reader frees the buffers of its images (ImageReader.close); it goes on the
        // worker with the classifier, after any task still queued there.
        worker.execute {
            reader?.close()
            classifier?.close()
            classifier = null
        }
        frameThread = null
        imageReader = null
        stream = null
        cameraId = null
        frameSize = null
    }

    /** Shows each result; called on the worker, one frame at a time. */
    private inner class ResultsListener : LiveStreamListener {
        private val frameTimes = ArrayDeque<Long>()

        override fun onResult(result: LiveResult) {
            val classification = result.classification
            val lines = classification.categories.joinToString("\n") { "%.1f%%  %s".format(it.score * 100, it.label) }
            show("%s\n\n%.1f frames/s · preprocessing %.1f ms + inference %.1f ms · latency %.0f ms".format(
                lines, framesPerSecond(result.timestampNanos), classification.preprocessingTimeMs,
                classification.inferenceTimeMs, result.latencyMs,
            ))
        }

        override fun onError(error: Throwable, timestampNanos: Long) {
            // Without a model every frame fails alike, and the load error is already on screen.
            if (classifier == null) return
            Log.e(TAG, "cannot classify a frame", error)
            show("Cannot classify the frame: $error")
        }

        /** Frames classified per second over the last [FRAME_RATE_WINDOW], from the camera's timestamps. */
        private fun framesPerSecond(timestampNanos: Long): Double {
            frameTimes.addLast(timestampNanos)
            if (frameTimes.size > FRAME_RATE_WINDOW) frameTimes.removeFirst()
            val span = frameTimes.last() - frameTimes.first()
            return if (span > 0) (frameTimes.size - 1) * 1e9 / span else 0.0
        }
    }

    // A turn by 180 degrees (landscape to reverse landscape) changes no configuration, so the
    // activity is not recreated: only this listener hears of it.
    private val displayListener = object : DisplayManager.DisplayListener {
        override fun onDisplayAdded(displayId: Int) = Unit

        override fun onDisplayRemoved(displayId: Int) = Unit

        override fun onDisplayChanged(displayId: Int) {
            updateRotation()
            configureTransform()
        }
    }

    private fun updateRotation() {
        rotationDegrees = CameraRotation.frameRotation(sensorOrientation, frontFacing, displayRotationDegrees())
        updateProcessing()
    }

    /**
     * Classifies what the preview shows. The preview covers its view and crops the overflow
     * ([configureTransform]), so when the view's shape differs from the frame's (a phone held
     * upright: a tall view, a 4:3 frame) the screen shows a narrower part of the frame than the
     * central square the classifier would take of the whole frame. The preview has the frames'
     * aspect ratio ([choosePreviewSize]), so both show the same field of view; where the camera
     * offers no preview size of that shape, the region is close but not exact.
     */
    private fun updateProcessing() {
        val frame = frameSize
        processing = if (frame == null || preview.width == 0 || preview.height == 0) {
            ImageProcessingOptions(rotationDegrees = rotationDegrees)
        } else {
            ImageProcessingOptions.visibleInView(frame.width, frame.height, rotationDegrees, preview.width, preview.height)
        }
    }

    private fun displayRotationDegrees(): Int {
        val rotation = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
            val current: Display? = display
            current?.rotation ?: Surface.ROTATION_0
        } else {
            @Suppress("DEPRECATION")
            windowManager.defaultDisplay.rotation
        }
        return when (rotation) {
            Surface.ROTATION_90 -> 90
            Surface.ROTATION_180 -> 180
            Surface.ROTATION_270 -> 270
            else -> 0
        }
    }

    /**
     * Fills the view with the preview, upright and undistorted. The camera turns its output upright
     * for the display's natural orientation (by SENSOR_ORIENTATION) and the TextureView stretches it
     * over the view; this undoes the stretch, turns it back by the display's rotation, and scales
     * it to cover the view, cropping the overflow (as Google's Camera2Basic sample does).
     */
    private fun configureTransform() {
        val size = previewSize ?: return
        val viewWidth = preview.width.toFloat()
        val viewHeight = preview.height.toFloat()
        if (viewWidth == 0f || viewHeight == 0f) return
        // The preview as it appears in the display's natural orientation, then as the display is turned.
        val sideways = sensorOrientation % 180 == 90
        val naturalWidth = (if (sideways) size.height else size.width).toFloat()
        val naturalHeight = (if (sideways) size.width else size.height).toFloat()
        val displayRotation = displayRotationDegrees()
        val shownWidth = if (displayRotation % 180 == 90) naturalHeight else naturalWidth
        val shownHeight = if (displayRotation % 180 == 90) naturalWidth else naturalHeight
        val centerX = viewWidth / 2
        val centerY = viewHeight / 2
        val scale = maxOf(viewWidth / shownWidth, viewHeight / shownHeight)
        preview.setTransform(Matrix().apply {
            setScale(naturalWidth / viewWidth, naturalHeight / viewHeight, centerX, centerY)
            postRotate(-displayRotation.toFloat(), centerX, centerY)
            postScale(scale, scale, centerX, centerY)
        })
        updateProcessing() // the view's size may have changed what it shows
    }

    private fun show(text: String) {
        runOnUiThread { if (!isDestroyed) results.text = text }
    }

    private companion object {
        const val TAG = "mnv3-sdk-demo"
        const val CAMERA_PERMISSION_REQUEST = 1
        const val PERMISSION_REQUESTED = "permission_requested"
        const val PERMISSION_REFUSED = "The camera permission was refused: allow it in the app's settings to classify live"
        // One frame classified, one waiting in the stream, and two for acquireLatestImage, which
        // holds two images at once to skip to the newest (ImageReader.acquireLatestImage).
        const val MAX_IMAGES = 4
        const val FRAME_RATE_WINDOW = 30
        // Camera2's guaranteed preview-plus-analysis streams go up to 1080p (CameraDevice.createCaptureSession).
        const val MAX_STREAM_WIDTH = 1920
        const val MAX_STREAM_HEIGHT = 1080

        /** The first back camera, else the first camera (some tablets and Chromebooks have only a front one). */
        fun chooseCamera(manager: CameraManager): String? {
            val ids = manager.cameraIdList
            return ids.firstOrNull {
                manager.getCameraCharacteristics(it).get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_BACK
            } ?: ids.firstOrNull()
        }

        /**
         * The smallest frame of at least 640×480: the model reads only a square of the frame's
         * centre at its input size, so a larger frame costs reading time and camera bandwidth only.
         */
        fun chooseFrameSize(sizes: Array<Size>): Size? =
            sizes.filter { it.width in 640..MAX_STREAM_WIDTH && it.height in 480..MAX_STREAM_HEIGHT }
                .minByOrNull { it.width * it.height }
                ?: sizes.minByOrNull { it.width * it.height }

        /** The largest preview of the frames' shape, so the preview shows what is classified. */
        fun choosePreviewSize(sizes: Array<Size>, frame: Size): Size {
            val fitting = sizes.filter { it.width <= MAX_STREAM_WIDTH && it.height <= MAX_STREAM_HEIGHT }
            val sameShape = fitting.filter { it.width.toLong() * frame.height == it.height.toLong() * frame.width }
            return sameShape.ifEmpty { fitting }.maxByOrNull { it.width * it.height } ?: frame
        }
    }
}

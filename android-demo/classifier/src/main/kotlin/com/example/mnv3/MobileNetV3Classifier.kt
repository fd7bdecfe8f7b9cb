package com.example.mnv3

import android.content.Context
import android.graphics.Bitmap
import android.graphics.ImageFormat
import android.media.Image
import android.os.Build
import android.os.SystemClock
import androidx.annotation.WorkerThread
import java.io.Closeable
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor

/**
 * Classifies images with the mobilenet_v3_small model packaged in this library (int8, ExecuTorch + XNNPACK).
 *
 * ```
 * val classifier = MobileNetV3Classifier.create(context)
 * val result = classifier.classify(bitmap)
 * result.categories.forEach { Log.i("mnv3", "${it.label}: ${it.score}") }
 * classifier.close()
 * ```
 *
 * Camera frames (YUV_420_888 `Image`s) are classified without converting them to a bitmap:
 * [classify] with the frame's rotation, or [openLiveStream] for a stream that always works on the
 * newest frame.
 *
 * [create] loads the model and prepares its `forward` method, so call it off the main thread
 * (it is marked `@WorkerThread`, as [classify] is, so lint flags a call from the UI thread); the
 * first [classify] is then as fast as the others. Instances are safe to share between threads:
 * calls are serialised on the model.
 *
 * From Java:
 * ```
 * MobileNetV3Classifier.Options options = MobileNetV3Classifier.Options.builder().setMaxResults(3).build();
 * MobileNetV3Classifier classifier = MobileNetV3Classifier.create(context, options);
 * ```
 *
 * ExecuTorch runs every model in the process on one thread pool, so the thread count is a
 * process-wide setting: the first model loaded decides it, once, and no later load resizes the
 * pool (see [Options.numThreads]).
 */
class MobileNetV3Classifier private constructor(
    private val module: Module,
    /** What the model expects and what its outputs mean, read from the model file itself. */
    val metadata: ModelMetadata,
    private val options: Options,
    /**
     * Milliseconds spent loading the model file and preparing `forward` (`Module.load` and
     * `loadMethod`, what ExecuTorch's benchmark app reports as load time); copying the asset and
     * reading the metadata are not included.
     */
    val loadTimeMs: Double,
) : Closeable {

    /**
     * Settings for [create]: named arguments from Kotlin (`Options(maxResults = 3)`), [builder]
     * from Java. Invalid values throw an [IllegalArgumentException] when the options are made.
     *
     * @property maxResults how many categories [classify] returns at most.
     * @property scoreThreshold categories scoring below this probability are dropped.
     * @property categoryAllowlist when not empty, only these labels are returned.
     * @property categoryDenylist these labels are never returned; cannot be combined with an allowlist.
     * @property numThreads CPU threads for inference, for the whole process: ExecuTorch has one
     *   thread pool that all models share, every `Module.load` resizes it, and resizing it under a
     *   loaded model crashes the app. So the first model loaded in the process decides the count,
     *   once, even when several are created at the same time on different threads (0: what
     *   ExecuTorch's `Module.load` takes for 0, half the processors cpuinfo counts); every later
     *   load passes that count, so the pool is never resized; later models asking for 0 use it,
     *   and asking for another count makes [create] throw an [IllegalStateException] before
     *   anything is loaded. [numThreadsInUse] tells the count decided.
     * @property modelAssetName the model file in the app's assets.
     */
    data class Options(
        val maxResults: Int = 5,
        val scoreThreshold: Float = 0f,
        val categoryAllowlist: Set<String> = emptySet(),
        val categoryDenylist: Set<String> = emptySet(),
        val numThreads: Int = 0,
        val modelAssetName: String = DEFAULT_MODEL_ASSET,
    ) {
        init {
            require(maxResults > 0) { "maxResults must be positive, got $maxResults" }
            require(scoreThreshold in 0f..1f) { "scoreThreshold must be within 0..1, got $scoreThreshold" }
            require(categoryAllowlist.isEmpty() || categoryDenylist.isEmpty()) {
                "categoryAllowlist and categoryDenylist are mutually exclusive"
            }
            require(numThreads >= 0) { "numThreads must be 0 (default) or positive, got $numThreads" }
        }

        /** A builder holding these options, to change some of them. */
        fun toBuilder(): Builder = Builder(this)

        /** Builds [Options] field by field; unset fields keep their defaults. */
        class Builder internal constructor(from: Options) {
            constructor() : this(Options())

            private var maxResults = from.maxResults
            private var scoreThreshold = from.scoreThreshold
            private var categoryAllowlist = from.categoryAllowlist
            private var categoryDenylist = from.categoryDenylist
            private var numThreads = from.numThreads
            private var modelAssetName = from.modelAssetName

            /** See [Options.maxResults]. */
            fun setMaxResults(maxResults: Int): Builder = apply { this.maxResults = maxResults }

            /** See [Options.scoreThreshold]. */
            fun setScoreThreshold(scoreThreshold: Float): Builder = apply { this.scoreThreshold = scoreThreshold }

            /** See [Options.categoryAllowlist]. */
            fun setCategoryAllowlist(labels: Collection<String>): Builder = apply { categoryAllowlist = labels.toSet() }

            /** See [Options.categoryDenylist]. */
            fun setCategoryDenylist(labels: Collection<String>): Builder = apply { categoryDenylist = labels.toSet() }

            /** See [Options.numThreads]. */
            fun setNumThreads(numThreads: Int): Builder = apply { this.numThreads = numThreads }

            /** See [Options.modelAssetName]. */
            fun setModelAssetName(modelAssetName: String): Builder = apply { this.modelAssetName = modelAssetName }

            /** The options; throws [IllegalArgumentException] for an invalid combination. */
            fun build(): Options = Options(
                maxResults, scoreThreshold, categoryAllowlist, categoryDenylist, numThreads, modelAssetName,
            )
        }

        companion object {
            /** A builder starting from the default options. */
            @JvmStatic
            fun builder(): Builder = Builder()
        }
    }

    private val lock = Any()
    private var closed = false

    // The thread live streams classify on, started by the first openLiveStream, stopped by close().
    private var streamExecutor: ExecutorService? = null

    // The streams opened and not yet closed: close() closes them before the model, so a camera
    // callback racing close() drops its frame instead of meeting a shut-down executor. Guarded by
    // their own lock, not the model's: close() must reach them while a frame is in the model.
    private val streamsLock = Any()
    private val streams = ArrayList<LiveStream<*>>()
    private var closing = false

    // One input tensor for the classifier's lifetime, wrapping a direct buffer that every call
    // refills under the lock: no tensor-sized allocation per image.
    private val input = ModelInput(metadata)
    private val inputTensor: EValue = EValue.from(
        input.floats?.let { Tensor.fromBlob(it, input.shape) } ?: Tensor.fromBlob(input.shorts!!, input.shape)
    )

    // Preprocessing's arrays, kept for the next call: a frame's worth of new ones per call would
    // keep the garbage collector running at 30 fps. A call takes a set (or makes one when all are
    // taken: calls on other threads preprocess at the same time) and gives it back when it returns
    // (a call that throws drops its set), so there are as many sets as calls ever ran at once;
    // close() drops them.
    private val idleBuffers = ArrayDeque<PreprocessingBuffers>()

    /**
     * Classifies a bitmap of any size or configuration, as it is stored: the same as [classify]
     * with [ImageProcessingOptions.DEFAULT]. From an ARGB_8888 bitmap only the central crop is
     * read, a few rows at a time: a 12-megapixel photo is never copied whole. Any other
     * configuration is copied whole to ARGB_8888 first (width × height × 4 bytes, released when the
     * call returns): `Bitmap.Config.HARDWARE`, which `ImageDecoder` returns by default, keeps its
     * pixels in graphics memory, where neither `getPixels` nor a software `Canvas` can read a part
     * (`Bitmap.copy` and `Bitmap.createBitmap` both copy the whole hardware bitmap). To avoid the
     * copy, decode with `ImageDecoder.ALLOCATOR_SOFTWARE` (`decoder.allocator = ...` in
     * `setOnHeaderDecodedListener`) or `BitmapFactory`. Blocking: call it from a background thread.
     */
    @WorkerThread
    fun classify(bitmap: Bitmap): ClassificationResult = classify(bitmap, ImageProcessingOptions.DEFAULT)

    /**
     * Classifies a region of a bitmap turned upright (see [ImageProcessingOptions]): a photo whose
     * EXIF orientation says it is stored sideways is classified upright with
     * `ImageProcessingOptions(rotationDegrees = ExifOrientation.rotationDegrees(context, uri))`.
     * The rotation moves pixels only, so a rotated bitmap gives the very input of the upright one.
     * Only the region's central crop is read, a few rows at a time. Blocking.
     *
     * @throws InvalidImageProcessingOptionsException if the region does not fit in the bitmap.
     */
    @WorkerThread
    fun classify(bitmap: Bitmap, options: ImageProcessingOptions): ClassificationResult {
        val started = SystemClock.elapsedRealtimeNanos()
        // Not ARGB_8888 (HARDWARE, RGB_565, RGBA_F16...): one whole copy, see classify(bitmap);
        // recycled as soon as the input is filled instead of waiting for the garbage collector.
        val copied = bitmap.config != Bitmap.Config.ARGB_8888
        val argb = if (copied) bitmap.copy(Bitmap.Config.ARGB_8888, false) else bitmap
        return withBuffers { buffers ->
            val rgb = try {
                val source = object : PixelSource {
                    override val width = argb.width
                    override val height = argb.height

                    override fun readPixels(destination: IntArray, left: Int, top: Int, columns: Int, rows: Int) =
                        argb.getPixels(destination, 0, columns, left, top, columns, rows)
                }
                preprocess(source, options, buffers)
            } finally {
                if (copied) argb.recycle()
            }
            classifyRgb(rgb, started)
        }
    }

    /** Classifies ARGB pixels, row-major as [Bitmap.getPixels] returns them. Blocking, as is the bitmap overload. */
    @WorkerThread
    fun classify(pixels: IntArray, width: Int, height: Int): ClassificationResult {
        val started = SystemClock.elapsedRealtimeNanos()
        return withBuffers { buffers ->
            classifyRgb(ImagePreprocessing.preprocess(pixels, width, height, metadata.inputSize, metadata.cropFraction, buffers), started)
        }
    }

    /**
     * Classifies a region of ARGB pixels (row-major, as [Bitmap.getPixels] returns them) turned
     * upright, as the bitmap overload does. Blocking.
     *
     * @throws InvalidImageProcessingOptionsException if the region does not fit in the image.
     */
    @WorkerThread
    fun classify(pixels: IntArray, width: Int, height: Int, options: ImageProcessingOptions): ClassificationResult {
        val started = SystemClock.elapsedRealtimeNanos()
        return withBuffers { buffers -> classifyRgb(preprocess(ArgbPixels(pixels, width, height), options, buffers), started) }
    }

    private fun preprocess(source: PixelSource, options: ImageProcessingOptions, buffers: PreprocessingBuffers): ByteArray {
        val region = options.regionIn(source.width, source.height)
        val upright = UprightRegion(source, options.rotationDegrees, region.left, region.top, region.right, region.bottom)
        return ImagePreprocessing.preprocess(upright, metadata.inputSize, metadata.cropFraction, buffers)
    }

    /**
     * Classifies a camera frame in YUV_420_888 (Camera2's `ImageReader`), [rotationDegrees]
     * clockwise from upright; only its crop rectangle (`Image.getCropRect`) is the picture. The
     * image is only read: closing it stays with the caller, after this returns. No RGB copy of the
     * frame is made (see [YuvFrame]). Blocking. For CameraX, or to have the frame closed for you,
     * classify a [CameraFrame].
     *
     * @throws IllegalArgumentException if the image is not YUV_420_888.
     */
    @WorkerThread
    fun classify(image: Image, rotationDegrees: Int): ClassificationResult {
        val started = SystemClock.elapsedRealtimeNanos()
        return classifyFrame(yuvFrameOf(image, rotationDegrees), started)
    }

    /**
     * Classifies a region of a YUV_420_888 camera frame turned upright (see
     * [ImageProcessingOptions]); the region is a part of the image's crop rectangle, normalised to
     * it or in its pixels, in the sensor's orientation. Without a region the central square of the
     * whole picture is classified, which is more than a preview shows when its view's shape differs
     * from the frame's: [ImageProcessingOptions.visibleInView] gives the options that classify what
     * the preview shows. A chroma sample covers 2×2 pixels, so an odd left
     * or top edge of the region is moved one pixel out (see [YuvFrame.cropped]). Blocking; the
     * image stays the caller's to close.
     *
     * @throws IllegalArgumentException if the image is not YUV_420_888.
     * @throws InvalidImageProcessingOptionsException if the region does not fit in the picture.
     */
    @WorkerThread
    fun classify(image: Image, options: ImageProcessingOptions): ClassificationResult {
        val started = SystemClock.elapsedRealtimeNanos()
        val frame = yuvFrameOf(image, options.rotationDegrees)
        val region = options.regionIn(frame.width, frame.height)
        return classifyFrame(frame.cropped(region.left, region.top, region.right, region.bottom), started)
    }

    /**
     * Classifies a camera frame (CameraX's `ImageProxy` adapts in one line, see [CameraFrame]) with
     * its own rotation, crop rectangle and [CameraFrame.uprightRegion], and closes it, whatever
     * happens: classified, failed, or this classifier closed. Blocking.
     *
     * @throws IllegalStateException if this classifier is closed (the frame is closed first).
     * @throws InvalidImageProcessingOptionsException if the frame's upright region is not a region
     *   of its picture (the frame is closed first).
     */
    @WorkerThread
    fun classify(frame: CameraFrame): ClassificationResult = frame.use {
        val started = SystemClock.elapsedRealtimeNanos()
        classifyFrame(it.toYuvFrame(), started)
    }

    /** Classifies a YUV_420_888 frame given plane by plane. Blocking, as is the `Image` overload. */
    @WorkerThread
    fun classify(frame: YuvFrame): ClassificationResult = classifyFrame(frame, SystemClock.elapsedRealtimeNanos())

    private fun classifyFrame(frame: YuvFrame, started: Long): ClassificationResult = withBuffers { buffers ->
        classifyRgb(ImagePreprocessing.preprocess(frame, metadata.inputSize, metadata.cropFraction, buffers), started)
    }

    /** Runs [classify] with a set of preprocessing arrays no other call is using (see [idleBuffers]). */
    private inline fun <T> withBuffers(classify: (PreprocessingBuffers) -> T): T {
        val buffers = synchronized(idleBuffers) { idleBuffers.removeLastOrNull() } ?: PreprocessingBuffers()
        // Not given back when the call throws: a band of rows on the common pool may still be
        // writing to them (a recycled bitmap fails one band while the others run on).
        val result = classify(buffers)
        synchronized(idleBuffers) { idleBuffers.addLast(buffers) }
        return result
    }

    /** Classifies [rgb], which stays the caller's until this returns (the model input is filled from it under the lock). */
    private fun classifyRgb(rgb: ByteArray, started: Long): ClassificationResult {
        var preprocessingNanos = SystemClock.elapsedRealtimeNanos() - started
        val logits: FloatArray
        val inferenceNanos: Long
        synchronized(lock) {
            check(!closed) { "MobileNetV3Classifier is closed" }
            val fillStarted = SystemClock.elapsedRealtimeNanos()
            input.fill(rgb)
            val forwardStarted = SystemClock.elapsedRealtimeNanos()
            preprocessingNanos += forwardStarted - fillStarted // waiting for the lock is neither
            // float16 logits of fp16 models are widened by dataAsFloatArray.
            logits = module.forward(inputTensor)[0].toTensor().dataAsFloatArray
            inferenceNanos = SystemClock.elapsedRealtimeNanos() - forwardStarted
        }
        val categories = Postprocessing.topCategories(
            Postprocessing.softmax(logits),
            metadata.labels,
            options.maxResults,
            options.scoreThreshold,
            options.categoryAllowlist,
            options.categoryDenylist,
        )
        return ClassificationResult(categories, preprocessingNanos / 1e6, inferenceNanos / 1e6)
    }

    /**
     * Opens a live stream of camera images (MediaPipe's LIVE_STREAM mode): submit each `Image` of a
     * YUV_420_888 `ImageReader` with its timestamp, from the camera's callback thread; the stream
     * classifies the newest one on this classifier's background thread, replaces a waiting frame
     * with a newer one instead of queueing it, closes every image it was given, and calls [listener]
     * with each result (on that background thread: post to the main thread to show it).
     *
     * ```
     * val stream = classifier.openLiveStream(listener, rotationDegrees)
     * imageReader.setOnImageAvailableListener({ reader ->
     *     reader.acquireLatestImage()?.let { stream.submit(it, it.timestamp) }
     * }, cameraHandler)
     * // onPause: stop the camera, then stream.close() (it waits for the image being classified),
     * // then imageReader.close()
     * ```
     *
     * The stream holds up to two images (one classified, one waiting) besides the one being
     * delivered, so give the `ImageReader` `maxImages` of at least 3. `LiveStream.close()` returns
     * once no image is read any more, so the reader can be closed right after it (closing a reader
     * frees its images' buffers). Closing this classifier closes its open streams first (each
     * waits for its frame in flight, as [LiveStream.close] does), so the order of the two closes
     * does not matter: a frame submitted to a stream of a closed classifier is closed and counted
     * in [LiveStream.droppedFrames], never an exception on the camera's thread.
     *
     * @throws IllegalStateException if this classifier is closed.
     * @param rotationDegrees the clockwise rotation that makes the camera's frames upright.
     */
    @JvmOverloads
    fun openLiveStream(listener: LiveStreamListener, rotationDegrees: Int = 0): LiveStream<Image> {
        require(rotationDegrees == 0 || rotationDegrees == 90 || rotationDegrees == 180 || rotationDegrees == 270) {
            "rotationDegrees must be 0, 90, 180 or 270, got $rotationDegrees"
        }
        return openStream(listener, { image -> classify(image, rotationDegrees) }, Image::close)
    }

    /**
     * Opens a live stream of [CameraFrame]s, as [openLiveStream] does for `Image`s, where each frame
     * brings its own rotation and crop rectangle, so turning the phone never needs a new stream.
     * CameraX's `ImageAnalysis` analyzer submits each `ImageProxy` in one line:
     * ```
     * val stream = classifier.openCameraStream(listener)
     * imageAnalysis.setAnalyzer(executor) { proxy -> stream.submit(proxy.toCameraFrame(), proxy.imageInfo.timestamp) }
     * ```
     * (`toCameraFrame` is the one-line adapter in [CameraFrame]'s documentation). The stream closes
     * every frame exactly once, which gives the proxy back to CameraX: classified, replaced by a
     * newer one, refused, failed, or after [LiveStream.close] or this classifier's [close].
     *
     * @throws IllegalStateException if this classifier is closed.
     */
    fun openCameraStream(listener: LiveStreamListener): LiveStream<CameraFrame> =
        openStream(listener, { frame -> classifyFrame(frame.toYuvFrame(), SystemClock.elapsedRealtimeNanos()) }, CameraFrame::close)

    private fun <F : Any> openStream(listener: LiveStreamListener, classify: (F) -> ClassificationResult, release: (F) -> Unit): LiveStream<F> {
        synchronized(streamsLock) {
            check(!closing) { "MobileNetV3Classifier is closed" }
            val executor = streamExecutor ?: Executors.newSingleThreadExecutor { task ->
                Thread(task, "MobileNetV3Classifier-live-stream").apply { isDaemon = true }
            }.also { streamExecutor = it }
            streams.removeAll { it.isClosed }
            val stream = LiveStream(classify, release, listener, executor, SystemClock::elapsedRealtimeNanos)
            streams.add(stream)
            return stream
        }
    }

    /**
     * Closes the live streams opened on this classifier (each returns once its frame in flight is
     * released), then releases the model's native memory and stops the streams' thread. Safe to
     * call more than once, from any thread, also from a stream's listener; calls made afterwards
     * throw [IllegalStateException], frames submitted to its streams are closed and dropped.
     */
    override fun close() {
        val open = synchronized(streamsLock) {
            if (closing) return
            closing = true
            streams.toList().also { streams.clear() }
        }
        // First the streams: each returns once its frame in flight has left the model, and no
        // result is delivered after that, the waiting frames being closed unclassified.
        for (stream in open) stream.close()
        synchronized(lock) {
            closed = true
            streamExecutor?.shutdown()
            module.close()
        }
        synchronized(idleBuffers) { idleBuffers.clear() }
    }

    companion object {
        /**
         * The model file this library ships in its assets, under a folder named after its package:
         * the build merges the assets of every library into the app's, keeping one file per path,
         * so two libraries with the same model name must not share a path.
         */
        const val DEFAULT_MODEL_ASSET = "mnv3-sdk/com.example.mnv3/mnv3-small-int8.pte"

        /**
         * The inference thread count of this process, decided by the first model loaded (by this
         * or any other mnv3-sdk library); 0 before any model is loaded.
         */
        @JvmStatic
        val numThreadsInUse: Int
            get() = InferenceThreads.current()

        /**
         * Loads the model from the app's assets (copied to internal storage once per install or
         * update of the app) and prepares it. Blocking: call it from a background thread.
         *
         * @throws IllegalStateException if [Options.numThreads] asks for a thread count other than
         *   the one the first model loaded in this process decided.
         * @throws UnsupportedDeviceException if the ExecuTorch runtime has no native library for
         *   this device's ABI (32-bit devices: see [SUPPORTED_ABIS]).
         */
        @JvmStatic
        @JvmOverloads
        @WorkerThread
        fun create(context: Context, options: Options = Options()): MobileNetV3Classifier =
            createFromFile(ModelFiles.copyAssetIfChanged(context, options.modelAssetName, MODEL_COPY_FOLDER), options)

        /**
         * Loads a model file that is already on the device (downloaded, or pushed for benchmarking),
         * ignoring [Options.modelAssetName]. Blocking: call it from a background thread.
         *
         * @throws IllegalStateException if [Options.numThreads] asks for a thread count other than
         *   the one the first model loaded in this process decided.
         * @throws UnsupportedDeviceException if the ExecuTorch runtime has no native library for
         *   this device's ABI (32-bit devices: see [SUPPORTED_ABIS]).
         * @throws ClassifierException if the file is a model mnv3-sdk did not make (no metadata).
         */
        @JvmStatic
        @JvmOverloads
        @WorkerThread
        fun createFromFile(modelFile: File, options: Options = Options()): MobileNetV3Classifier {
            require(modelFile.isFile) { "model file not found: $modelFile" }
            // Passing the process-wide count explicitly, also for 0, keeps Module.load from resizing the pool.
            val numThreads = InferenceThreads.claim(options.numThreads)
            val loadStarted = SystemClock.elapsedRealtimeNanos()
            val module = loadModule(modelFile, numThreads)
            try {
                module.loadMethod("forward")
                val loadTimeMs = (SystemClock.elapsedRealtimeNanos() - loadStarted) / 1e6
                val metadataBytes = readMetadata(module, modelFile)
                val metadata = ModelMetadata.parse(metadataBytes)
                val unknown = (options.categoryAllowlist + options.categoryDenylist) - metadata.labels.toSet()
                require(unknown.isEmpty()) { "labels not in the model: ${unknown.joinToString()}" }
                return MobileNetV3Classifier(module, metadata, options, loadTimeMs)
            } catch (error: Throwable) {
                module.close()
                throw error
            }
        }

        private const val METADATA_METHOD = "metadata"

        /**
         * The metadata mnv3-sdk embeds in every model as a method. A `.pte` made another way has
         * none, and ExecuTorch says only "Cannot get method names [Native Error: 0x12]".
         */
        private fun readMetadata(module: Module, modelFile: File): ByteArray {
            if (METADATA_METHOD !in module.getMethods()) {
                throw ClassifierException(
                    "${modelFile.name} has no '$METADATA_METHOD' method, so it was not made by mnv3-sdk: " +
                        "export the model with `mnv3-sdk build`, which embeds its labels and input size",
                )
            }
            return module.execute(METADATA_METHOD)[0].toTensor().dataAsUnsignedByteArray
        }

        /**
         * The ABIs `executorch-android` ships native libraries for (upstream's
         * scripts/build_android_library.sh builds arm64-v8a and x86_64).
         */
        @JvmField
        val SUPPORTED_ABIS: List<String> = listOf("arm64-v8a", "x86_64")

        /**
         * `Module.load`, with the runtime's missing native library turned into our exception:
         * `Module`'s static initializer loads it, so the first load on a device the runtime has no
         * build for throws [UnsatisfiedLinkError], and every later one [NoClassDefFoundError]
         * ("Could not initialize class"); both are `Error`s an app would not catch.
         */
        private fun loadModule(modelFile: File, numThreads: Int): Module = try {
            Module.load(modelFile.absolutePath, Module.LOAD_MODE_MMAP, numThreads)
        } catch (error: UnsatisfiedLinkError) {
            throw UnsupportedDeviceException(Build.SUPPORTED_ABIS.toList(), SUPPORTED_ABIS, error)
        } catch (error: NoClassDefFoundError) {
            // Any other missing class is a broken app build, not a device to report.
            if (error.message?.startsWith("Could not initialize class org.pytorch.executorch.") != true) throw error
            throw UnsupportedDeviceException(Build.SUPPORTED_ABIS.toList(), SUPPORTED_ABIS, error)
        }

        // Under noBackupFilesDir: one folder per library (its package), see ModelFiles.
        private const val MODEL_COPY_FOLDER = "mnv3-sdk/com.example.mnv3"

        /** The crop rectangle of a YUV_420_888 image as a [YuvFrame]; valid while the image is open. */
        private fun yuvFrameOf(image: Image, rotationDegrees: Int): YuvFrame {
            require(image.format == ImageFormat.YUV_420_888) {
                "expected a YUV_420_888 image (ImageFormat 35), got format ${image.format}"
            }
            val (y, u, v) = image.planes.map { YuvPlane(it.buffer, it.rowStride, it.pixelStride) }
            val crop = image.cropRect // the whole image unless the camera says otherwise
            return YuvFrame(image.width, image.height, y, u, v, rotationDegrees).cropped(crop.left, crop.top, crop.right, crop.bottom)
        }
    }
}

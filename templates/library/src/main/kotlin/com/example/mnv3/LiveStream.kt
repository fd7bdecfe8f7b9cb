package com.example.mnv3

import java.io.Closeable
import java.util.concurrent.Executor
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * What a [LiveStream] delivers for one frame.
 *
 * @property timestampNanos the timestamp the frame was submitted with.
 * @property classification the categories and the classifier's own preprocessing and inference times.
 * @property latencyMs time from [LiveStream.submit] to this result, measured with the stream's
 *   clock: waiting for the frame in flight before it, plus classifying it.
 */
data class LiveResult(
    val timestampNanos: Long,
    val classification: ClassificationResult,
    val latencyMs: Double,
)

/**
 * Receives a [LiveStream]'s results, on the stream's classification thread, one frame at a time
 * and in the order the frames were submitted. Keep the callbacks short (post to the main thread
 * to update views): the next frame is not classified until they return, and [LiveStream.close]
 * waits for a callback in progress, so a callback must never wait for the thread that closes the
 * stream (no blocking hand-off to the main thread). A callback may close the stream itself: it is
 * then the last one.
 */
interface LiveStreamListener {
    /** The frame submitted with [LiveResult.timestampNanos] was classified. */
    fun onResult(result: LiveResult)

    /**
     * Classifying (or releasing) the frame submitted with [timestampNanos] threw [error]. The
     * frame has been released, and the stream goes on with the next one.
     */
    fun onError(error: Throwable, timestampNanos: Long)
}

/**
 * Classifies camera frames as they arrive, without ever building up a backlog: at most one frame
 * is being classified and at most one waits; a newer frame replaces the waiting one, so a slow
 * model shows the latest picture rather than one from seconds ago. Results reach the [listener]
 * in submission order, each with its frame's timestamp. Plain Kotlin, tested on the JVM.
 *
 * The stream owns every frame passed to [submit] and calls [release] on it exactly once: after
 * it was classified, when a newer frame replaced it, when it was refused or submitted after
 * [close], or at [close] if it was still waiting. For an `android.media.Image` from an
 * `ImageReader` (or CameraX's `ImageProxy`), [release] must close it: the reader has only
 * `maxImages` buffers, and once they are all held the camera stops delivering frames.
 *
 * [close] returns only once the stream holds no frame any more: it releases the waiting frame and
 * waits for the frame being classified, if any, until its classification has returned, it has been
 * released and its listener callback has returned. So the `ImageReader` can be closed right after:
 * `ImageReader.close()` frees the buffers of the images it gave out, and reading them afterwards
 * is undefined behaviour, which is also why CameraX closes its reader only once every image is
 * closed. close() therefore blocks for up to one classification and one callback: calling it in
 * `onPause` is fine, but it is a blocking call.
 *
 * ```
 * val stream = LiveStream<Image>(
 *     classify = { image -> classifier.classify(image, rotationDegrees) },
 *     release = Image::close,
 *     listener = listener,
 *     executor = classificationThread,
 * )
 * imageReader.setOnImageAvailableListener({ reader ->
 *     val image = reader.acquireLatestImage() ?: return@setOnImageAvailableListener
 *     stream.submit(image, image.timestamp)
 * }, cameraHandler)
 * // onPause, once the camera is closed:
 * stream.close() // blocks until the frame being classified is released
 * imageReader.close() // so no image of the reader is read any more
 * ```
 *
 * Thread-safe: [submit] may be called from any thread, usually the camera's callback thread, and
 * never waits for a classification.
 *
 * @param F the frame type, such as `android.media.Image` or `Bitmap`.
 * @param classify classifies one frame; called on [executor], never for two frames at once. It must
 *   not wait for the thread that calls [close], which waits for it.
 * @param release gives a frame back (closes an `Image`); called once per submitted frame, from
 *   the thread that submitted, replaced or closed it, or from [executor] after classification.
 * @param executor runs the classifications, one task at a time; a background thread the caller
 *   owns and shuts down after [close]. Tasks carry no frame: a task that never runs (after
 *   `shutdownNow`) leaks nothing, since [close] releases the waiting frame itself.
 * @param clock monotonic nanoseconds, for [LiveResult.latencyMs].
 */
class LiveStream<F : Any> @JvmOverloads constructor(
    private val classify: (F) -> ClassificationResult,
    private val release: (F) -> Unit,
    private val listener: LiveStreamListener,
    private val executor: Executor,
    private val clock: () -> Long = System::nanoTime,
) : Closeable {

    private class Pending<F>(val frame: F, val timestampNanos: Long, val submittedAtNanos: Long)

    // Guards the fields below. Held only briefly and never while calling the caller's code
    // (classify, release, the listener), so submit() never waits for any of them.
    private val state = ReentrantLock()
    // Signalled, once the stream is closed, when a thread lets go of a frame: close() waits on it.
    private val letGo = state.newCondition()

    private var waiting: Pending<F>? = null
    // A task is queued or running on the executor; at most one at a time, which keeps results in order.
    private var scheduled = false
    // One entry per frame taken out of the stream and not released yet, naming the thread that has
    // it: the task classifying it (until its listener callback has returned), a submit releasing
    // the frame it replaced or refused, close() releasing the waiting one. close() waits until no
    // other thread is left; after closed is set only a close() can add one, so the wait ends.
    private val holders = ArrayList<Thread>(2)
    private var lastTimestampNanos: Long? = null
    private var dropped = 0L
    private var processed = 0L

    @Volatile
    private var closed = false

    /**
     * Frames the listener never hears about: replaced while waiting, still waiting at [close],
     * in flight at [close] (classified, but the result is discarded), or submitted after [close].
     * Frames refused for their timestamp are not counted. Once the executor is idle,
     * [processedFrames] + [droppedFrames] is the number of frames submitted and not refused.
     */
    val droppedFrames: Long
        get() = state.withLock { dropped }

    /** Frames whose result, or error, reached the listener. */
    val processedFrames: Long
        get() = state.withLock { processed }

    /** Whether [close] was called. */
    val isClosed: Boolean
        get() = closed

    /**
     * Hands [frame] to the stream and returns at once. The frame replaces the one waiting, if any
     * (that one is released and counted in [droppedFrames]), and is classified when the frame in
     * flight is done.
     *
     * After [close], the frame is released at once and counted as dropped, without an exception:
     * camera callbacks arrive on their own thread and a frame or two always races with `onPause`
     * closing the stream; throwing there (as MediaPipe does) would crash the app from a thread it
     * does not control, and checking [isClosed] first cannot close the race.
     *
     * @param timestampNanos the frame's time, such as `Image.getTimestamp()`; must be greater than
     *   the previous frame's, as in MediaPipe's live-stream mode, so results can be told apart and
     *   matched to frames.
     * @throws IllegalArgumentException if [timestampNanos] is not greater than the timestamp of
     *   the last frame accepted. The frame is released before the exception is thrown.
     * @throws RejectedExecutionException if the executor was shut down while the stream is still
     *   open (close the stream first); the frame is released and counted as dropped.
     */
    fun submit(frame: F, timestampNanos: Long) {
        val submittedAt = clock()
        var refusedAfter: Long? = null
        var afterClose = false
        var replaced: Pending<F>? = null
        var schedule = false
        state.withLock {
            when {
                closed -> {
                    afterClose = true
                    dropped++
                }
                lastTimestampNanos.let { it != null && timestampNanos <= it } -> {
                    refusedAfter = lastTimestampNanos
                    holders.add(Thread.currentThread())
                }
                else -> {
                    lastTimestampNanos = timestampNanos
                    replaced = waiting
                    if (replaced != null) {
                        dropped++
                        holders.add(Thread.currentThread())
                    }
                    waiting = Pending(frame, timestampNanos, submittedAt)
                    // A waiting frame implies a scheduled task, so a replacement needs none.
                    if (!scheduled) {
                        scheduled = true
                        schedule = true
                    }
                }
            }
        }
        // Frames are released outside the lock: release is the caller's code, and Image.close() takes time.
        if (afterClose) {
            // Given after close() began: the frame is this call's to release, close() does not wait for it.
            release(frame)
            return
        }
        refusedAfter?.let { previous ->
            releaseHeld(frame)
            throw IllegalArgumentException(
                "timestamp $timestampNanos is not after the previous frame's $previous: " +
                    "live-stream timestamps must strictly increase"
            )
        }
        if (schedule) execute()
        replaced?.let { releaseHeld(it.frame) }
    }

    /**
     * Stops the stream and returns once it holds no frame any more, so that the frames' source can
     * be closed right after (`ImageReader.close()` invalidates the buffers of its images, and
     * reading them afterwards is undefined behaviour):
     * - the waiting frame is released and counted as dropped;
     * - if a frame is being classified, close() waits until its classification has returned and
     *   the frame has been released (its result is discarded), and for a listener callback in
     *   progress, so it blocks for up to one classification and one callback: fine in `onPause`,
     *   but a blocking call. A frame that a [submit] running at the same time is releasing (the one
     *   it replaced or refused) is waited for too;
     * - the listener is not called again once close() returns;
     * - frames submitted later are released at once by [submit].
     *
     * Called on the thread that is classifying for this stream (from a listener callback, or from
     * [classify] or [release] on the executor), close() cannot wait for itself: it releases the
     * waiting frame, waits for any other thread still releasing one, and returns; the frame in
     * flight is then released when its classification returns, the callback in progress is the
     * last one, and its result is discarded. Called from another task on the executor, close()
     * waits as from any other thread (on a single-thread executor, no classification can be in
     * progress then).
     *
     * Calling it again does nothing more, but waits in the same way if a classification is still
     * in flight. The wait is not interruptible (the thread's interrupt status is kept). The
     * executor is not shut down: it belongs to the caller.
     */
    override fun close() {
        val me = Thread.currentThread()
        val leftover = state.withLock {
            closed = true
            waiting.also {
                waiting = null
                if (it != null) {
                    dropped++
                    holders.add(me)
                }
            }
        }
        try {
            leftover?.let { releaseHeld(it.frame) }
        } finally {
            state.withLock {
                while (holders.any { it !== me }) letGo.awaitUninterruptibly()
            }
        }
    }

    /** Releases a frame the current thread took out of the stream (and entered in [holders]). */
    private fun releaseHeld(frame: F) {
        try {
            release(frame)
        } finally {
            state.withLock { letGoOfOne() }
        }
    }

    /** Called with [state] held: the current thread no longer has one of the stream's frames. */
    private fun letGoOfOne() {
        holders.remove(Thread.currentThread())
        if (closed) letGo.signalAll()
    }

    private fun execute() {
        try {
            executor.execute(::classifyNext)
        } catch (rejected: RejectedExecutionException) {
            // The executor was shut down. Right after close() that is the owner's normal teardown
            // racing a submit, and close() has already released the waiting frame; otherwise the
            // frame cannot be classified: give it back and tell the caller.
            val orphan = state.withLock {
                scheduled = false
                waiting.also {
                    waiting = null
                    if (it != null) {
                        dropped++
                        holders.add(Thread.currentThread())
                    }
                }
            }
            orphan?.let { releaseHeld(it.frame) }
            if (!closed) throw rejected
        }
    }

    /** One executor task: classifies the waiting frame, tells the listener, schedules the next one. */
    private fun classifyNext() {
        val pending = state.withLock {
            waiting.also {
                waiting = null
                // Held until the callback has returned, so close() waits for the classification and the callback.
                if (it != null) holders.add(Thread.currentThread()) else scheduled = false // close() took the frame first
            }
        } ?: return
        try {
            deliver(pending, classifyAndRelease(pending.frame))
        } finally {
            // Also when the listener threw, so the stream does not stall with a frame waiting.
            val next = state.withLock {
                letGoOfOne()
                scheduled = waiting != null
                scheduled
            }
            if (next) execute()
        }
    }

    private fun classifyAndRelease(frame: F): Result<ClassificationResult> {
        val outcome = try {
            Result.success(classify(frame))
        } catch (error: Exception) {
            Result.failure(error)
        } catch (error: Throwable) {
            // An Error (out of memory, a missing native library) is not a bad frame: give the frame
            // back, count it as dropped and let the Error reach the thread's uncaught-exception handler.
            state.withLock { dropped++ }
            try {
                release(frame)
            } catch (releaseError: Throwable) {
                error.addSuppressed(releaseError)
            }
            throw error
        }
        try {
            release(frame)
        } catch (releaseError: Exception) {
            // One callback per frame: a failed release is the frame's error, or part of it.
            val classifyError = outcome.exceptionOrNull() ?: return Result.failure(releaseError)
            classifyError.addSuppressed(releaseError)
        }
        return outcome
    }

    private fun deliver(pending: Pending<F>, outcome: Result<ClassificationResult>) {
        val finished = clock()
        // No lock around the callback: a close() on another thread waits for this task to let go of
        // the frame, after the callback; a close() earlier on this thread (in classify) is seen here.
        val heard = !closed
        state.withLock { if (heard) processed++ else dropped++ }
        if (!heard) return
        outcome.fold(
            onSuccess = {
                val latencyMs = (finished - pending.submittedAtNanos) / 1e6
                listener.onResult(LiveResult(pending.timestampNanos, it, latencyMs))
            },
            onFailure = { listener.onError(it, pending.timestampNanos) },
        )
    }
}

// Test harness for the generated LiveStream (tests/test_live_stream.py): compiled with the rendered
// plain-Kotlin files (tests/kotlin_jvm.py), run on the JVM. Each mode prints lines the test compares
// exactly. The model is a fake (a classify lambda that records its frames, throws or blocks), the
// executor is either one the scenario runs by hand or real threads, and the clock is fake except
// in the stress test.
package com.example.mnv3

import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.concurrent.thread

fun main(args: Array<String>) {
    when (args[0]) {
        "replace" -> replaceWaiting()
        "errors" -> errors()
        "timestamps" -> timestamps()
        "close" -> closeWhileClassifying()
        "close-during-callback" -> closeDuringCallback()
        "stress" -> stress(args[1], args[2].toInt(), args[3].toInt())
        else -> error("unknown mode ${args[0]}")
    }
}

/** A frame that knows how often it was released, like an `Image` that must be closed once. */
private class LiveFrame(val name: String, val timestamp: Long) {
    val releases = AtomicInteger()
}

/** Queues the stream's tasks and runs them when the scenario says, on the scenario's thread. */
private class StepExecutor : java.util.concurrent.Executor {
    val queue = ArrayDeque<Runnable>()

    override fun execute(command: Runnable) {
        queue.addLast(command)
    }

    fun runNext() = queue.removeFirst().run()
}

private class FakeNanoClock {
    val nanos = AtomicLong()

    fun advanceMs(ms: Long) {
        nanos.addAndGet(ms * 1_000_000)
    }
}

private fun resultFor(frame: LiveFrame) = ClassificationResult(listOf(Category(0, frame.name, 1f)), 1.0, 2.0)

/** Logs every event in the order it happens, from whichever thread. */
private class EventLog {
    val lines: MutableList<String> = Collections.synchronizedList(mutableListOf())

    fun add(line: String) {
        lines.add(line)
    }

    fun print() = lines.toList().forEach(::println)

    val listener = object : LiveStreamListener {
        override fun onResult(result: LiveResult) =
            add("result ${result.timestampNanos} ${result.classification.categories.single().label} latency=${result.latencyMs}")

        override fun onError(error: Throwable, timestampNanos: Long) {
            val suppressed = error.suppressed.joinToString("") { " (suppressed ${it.javaClass.simpleName}: ${it.message})" }
            add("error $timestampNanos ${error.javaClass.simpleName}: ${error.message}$suppressed")
        }
    }

    fun release(frame: LiveFrame) {
        frame.releases.incrementAndGet()
        add("release ${frame.name}")
    }
}

private fun releases(frames: List<LiveFrame>) = "releases " + frames.joinToString(" ") { "${it.name}=${it.releases.get()}" }

private fun counts(stream: LiveStream<*>) = "dropped=${stream.droppedFrames} processed=${stream.processedFrames}"

/**
 * a waits for the executor and b replaces it; while b is classified (5 ms on the fake clock) c and
 * then d arrive, and d replaces c. One task is queued at a time; latencies count from submit().
 */
private fun replaceWaiting() {
    val log = EventLog()
    val clock = FakeNanoClock()
    val executor = StepExecutor()
    val frames = listOf("a", "b", "c", "d").mapIndexed { i, name -> LiveFrame(name, (i + 1) * 100L) }
    val (a, b, c, d) = frames
    lateinit var stream: LiveStream<LiveFrame>
    fun submit(frame: LiveFrame) {
        log.add("submit ${frame.name} ${frame.timestamp}")
        stream.submit(frame, frame.timestamp)
    }
    stream = LiveStream(
        classify = { frame ->
            log.add("classify ${frame.name}")
            if (frame === b) {
                clock.advanceMs(5)
                submit(c)
                clock.advanceMs(1)
                submit(d)
            } else {
                clock.advanceMs(2)
            }
            resultFor(frame)
        },
        release = log::release,
        listener = log.listener,
        executor = executor,
        clock = { clock.nanos.get() },
    )
    submit(a)
    clock.advanceMs(1)
    submit(b)
    log.add("queued=${executor.queue.size} ${counts(stream)}")
    while (executor.queue.isNotEmpty()) {
        log.add("run")
        executor.runNext()
        log.add("queued=${executor.queue.size} ${counts(stream)}")
    }
    log.add(releases(frames))
    log.print()
}

/**
 * Classification throws for a, releasing c throws, the listener itself throws for e, and f fails
 * twice: each frame gets one callback, is released once, and the frames after it are still classified.
 */
private fun errors() {
    val log = EventLog()
    val executor = StepExecutor()
    val frames = listOf("a", "b", "c", "d", "e", "f", "g").mapIndexed { i, name -> LiveFrame(name, (i + 1) * 100L) }
    val (a, _, c, _, e) = frames
    val f = frames[5]
    val listener = object : LiveStreamListener {
        override fun onResult(result: LiveResult) {
            log.listener.onResult(result)
            if (result.timestampNanos == e.timestamp) throw IllegalStateException("listener bug")
        }

        override fun onError(error: Throwable, timestampNanos: Long) = log.listener.onError(error, timestampNanos)
    }
    val stream = LiveStream(
        classify = { frame: LiveFrame ->
            if (frame === a) throw IllegalStateException("no model for a")
            if (frame === f) throw java.io.IOException("bad pixels in f")
            resultFor(frame)
        },
        release = { frame ->
            log.release(frame)
            if (frame === c) throw IllegalStateException("c was already closed")
            if (frame === f) throw IllegalStateException("f was already closed")
        },
        listener = listener,
        executor = executor,
        clock = { 0L },
    )
    for (frame in frames) {
        stream.submit(frame, frame.timestamp)
        try {
            executor.runNext()
        } catch (error: IllegalStateException) {
            log.add("task threw ${error.message}")
        }
        log.add("queued=${executor.queue.size}")
    }
    log.add(counts(stream))
    log.add(releases(frames))
    log.print()
}

/** Timestamps must strictly increase; a refused frame is released before the exception. */
private fun timestamps() {
    val log = EventLog()
    val executor = StepExecutor()
    val stream = LiveStream(
        classify = ::resultFor,
        release = log::release,
        listener = log.listener,
        executor = executor,
        clock = { 0L },
    )
    val frames = listOf(
        LiveFrame("first", -5), LiveFrame("same", -5), LiveFrame("earlier", -6), LiveFrame("next", -4), LiveFrame("later", 1),
    )
    for (frame in frames) {
        try {
            stream.submit(frame, frame.timestamp)
            log.add("accepted ${frame.name}")
        } catch (error: IllegalArgumentException) {
            log.add("refused ${frame.name}: ${error.message}")
        }
        while (executor.queue.isNotEmpty()) executor.runNext()
    }
    log.add(counts(stream))
    log.add(releases(frames))
    log.print()
}

/**
 * a is being classified (the fake model blocks), b waits, c replaces b; close() returns at once,
 * releasing c; later frames are released at once, even with an old timestamp; a's result never
 * reaches the listener, and a is released when its classification ends.
 */
private fun closeWhileClassifying() {
    val log = EventLog()
    val started = CountDownLatch(1)
    val proceed = CountDownLatch(1)
    val executor = Executors.newSingleThreadExecutor()
    val stream = LiveStream(
        classify = { frame: LiveFrame ->
            log.add("classify ${frame.name}")
            started.countDown()
            proceed.await()
            resultFor(frame)
        },
        release = log::release,
        listener = log.listener,
        executor = executor,
        clock = { 0L },
    )
    val frames = listOf(LiveFrame("a", 100), LiveFrame("b", 200), LiveFrame("c", 300), LiveFrame("d", 50), LiveFrame("e", 400))
    val (a, b, c, d, e) = frames
    stream.submit(a, a.timestamp)
    started.await()
    stream.submit(b, b.timestamp)
    stream.submit(c, c.timestamp)
    log.add("closing ${counts(stream)}")
    stream.close()
    log.add("closed while a is classified=${proceed.count == 1L && a.releases.get() == 0} isClosed=${stream.isClosed}")
    stream.close()
    log.add("closed again ${counts(stream)}")
    for (frame in listOf(d, e)) {
        try {
            stream.submit(frame, frame.timestamp)
            log.add("submitted ${frame.name} after close")
        } catch (error: Exception) {
            log.add("submit ${frame.name} after close threw ${error.javaClass.simpleName}")
        }
    }
    proceed.countDown()
    executor.shutdown()
    check(executor.awaitTermination(10, TimeUnit.SECONDS))
    stream.close()
    log.add("after classification ${counts(stream)}")
    log.add(releases(frames))
    log.print()
}

/**
 * While the listener is inside a's callback on the classification thread, another thread's
 * close() waits for it to return, and submit() from a third thread does not. After close()
 * returns, no callback: b, waiting or in flight then, never reaches the listener.
 */
private fun closeDuringCallback() {
    val log = EventLog()
    val inCallback = CountDownLatch(1)
    val leave = CountDownLatch(1)
    val closing = CountDownLatch(1)
    val closed = AtomicBoolean()
    val callbacksAfterClose = AtomicInteger()
    val executor = Executors.newSingleThreadExecutor()
    val stream = LiveStream(
        classify = ::resultFor,
        release = { frame: LiveFrame -> frame.releases.incrementAndGet() },
        listener = object : LiveStreamListener {
            override fun onResult(result: LiveResult) {
                if (closed.get()) callbacksAfterClose.incrementAndGet()
                log.add("callback ${result.timestampNanos} starts")
                inCallback.countDown()
                leave.await()
                log.add("callback ${result.timestampNanos} ends")
            }

            override fun onError(error: Throwable, timestampNanos: Long) {
                if (closed.get()) callbacksAfterClose.incrementAndGet()
                log.add("error $timestampNanos")
            }
        },
        executor = executor,
        clock = { 0L },
    )
    val a = LiveFrame("a", 100)
    val b = LiveFrame("b", 200)
    stream.submit(a, a.timestamp)
    inCallback.await()
    val closer = thread {
        closing.countDown()
        stream.close()
        closed.set(true)
    }
    closing.await()
    Thread.sleep(300)
    log.add("close returned during the callback=${closed.get()}")
    val submitter = thread { stream.submit(b, b.timestamp) }
    submitter.join(10_000)
    log.add("submit returned during the callback=${!submitter.isAlive}")
    leave.countDown()
    closer.join()
    log.add("close returned=${closed.get()}")
    executor.shutdown()
    check(executor.awaitTermination(10, TimeUnit.SECONDS))
    log.add("callbacks after close=${callbacksAfterClose.get()} ${counts(stream)}")
    log.add(releases(listOf(a, b)))
    log.print()
}

/**
 * [threads] threads submit [perThread] frames each, timestamps from one shared counter (so racing
 * threads get some refused), while the model takes a few microseconds and fails on some frames;
 * the stream is closed halfway and the threads go on submitting. Prints the invariants.
 */
private fun stress(executorKind: String, threads: Int, perThread: Int) {
    val executor: ExecutorService = when (executorKind) {
        "single" -> Executors.newSingleThreadExecutor()
        "pool" -> Executors.newFixedThreadPool(4) // order must not depend on a single worker thread
        else -> error(executorKind)
    }
    val timestamps = AtomicLong()
    val frames: MutableList<LiveFrame> = Collections.synchronizedList(mutableListOf())
    val active = AtomicInteger()
    val maxActive = AtomicInteger()
    val classified = AtomicInteger()
    val classifiedAfterRelease = AtomicInteger()
    val delivered: MutableList<Long> = Collections.synchronizedList(mutableListOf())
    val closeReturned = AtomicBoolean()
    val callbacksAfterClose = AtomicInteger()
    val errors = AtomicInteger()
    val stream = LiveStream(
        classify = { frame: LiveFrame ->
            maxActive.accumulateAndGet(active.incrementAndGet(), ::maxOf)
            if (frame.releases.get() != 0) classifiedAfterRelease.incrementAndGet()
            classified.incrementAndGet()
            val until = System.nanoTime() + 20_000
            while (System.nanoTime() < until) Thread.yield()
            active.decrementAndGet()
            if (frame.timestamp % 7 == 0L) throw IllegalStateException("model failed")
            resultFor(frame)
        },
        release = { frame: LiveFrame -> frame.releases.incrementAndGet() },
        listener = object : LiveStreamListener {
            override fun onResult(result: LiveResult) {
                if (closeReturned.get()) callbacksAfterClose.incrementAndGet()
                delivered.add(result.timestampNanos)
            }

            override fun onError(error: Throwable, timestampNanos: Long) {
                if (closeReturned.get()) callbacksAfterClose.incrementAndGet()
                errors.incrementAndGet()
                delivered.add(timestampNanos)
            }
        },
        executor = executor,
    )
    val accepted = AtomicLong()
    val refused = AtomicLong()
    val submitted = AtomicLong()
    val start = CountDownLatch(1)
    val workers = (0 until threads).map {
        thread {
            start.await()
            repeat(perThread) {
                // A camera delivers frames spaced out; a few microseconds let the model keep up now and then.
                val next = System.nanoTime() + 5_000
                while (System.nanoTime() < next) Thread.yield()
                val frame = LiveFrame("f", timestamps.incrementAndGet())
                frames.add(frame)
                try {
                    stream.submit(frame, frame.timestamp)
                    accepted.incrementAndGet()
                } catch (error: IllegalArgumentException) {
                    refused.incrementAndGet()
                }
                submitted.incrementAndGet()
            }
        }
    }
    start.countDown()
    // Close halfway, once the stream is under way (or when the submitters are done, if it never is).
    val total = threads.toLong() * perThread
    while (submitted.get() < total && (submitted.get() < total / 2 || stream.processedFrames < 100)) Thread.sleep(1)
    stream.close()
    closeReturned.set(true)
    workers.forEach { it.join() }
    executor.shutdown()
    check(executor.awaitTermination(30, TimeUnit.SECONDS))
    val order = delivered.toList()
    println("submitted=${frames.size == threads * perThread && submitted.get() == frames.size.toLong()}")
    println("accepted_is_processed_plus_dropped=${accepted.get() == stream.processedFrames + stream.droppedFrames}")
    println("released_once=${frames.all { it.releases.get() == 1 }}")
    println("callbacks_are_processed=${order.size.toLong() == stream.processedFrames}")
    println("timestamps_increase=${order.zipWithNext().all { (x, y) -> x < y }}")
    println("classify_at_once=${maxActive.get()}")
    println("classified_after_release=${classifiedAfterRelease.get()}")
    println("callbacks_after_close=${callbacksAfterClose.get()}")
    println("some_processed=${stream.processedFrames > 0} some_dropped=${stream.droppedFrames > 0} some_errors=${errors.get() > 0}")
    // Every classification but at most one (in flight at close) reached the listener.
    println("classified_not_heard=${classified.get() - stream.processedFrames in 0..1}")
    System.err.println("accepted=${accepted.get()} refused=${refused.get()} processed=${stream.processedFrames} " +
        "dropped=${stream.droppedFrames} errors=${errors.get()}")
}

// Test harness for the generated LiveStream (tests/test_live_stream.py): compiled with the rendered
// plain-Kotlin files (tests/kotlin_jvm.py), run on the JVM. Each mode prints lines the test compares
// exactly. The model is a fake (a classify lambda that records its frames, throws or blocks), the
// executor is either one the scenario runs by hand or real threads, and the clock is fake except
// in the stress test. A watchdog ends a scenario that deadlocks (close() waiting for itself).
package com.example.mnv3

import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.concurrent.thread
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    watchdog(args.joinToString(" "), if (args[0] == "stress") 300 else 30)
    when (args[0]) {
        "replace" -> replaceWaiting()
        "errors" -> errors()
        "timestamps" -> timestamps()
        "close" -> closeWhileClassifying()
        "close-waits" -> closeWaitsForTheClassification()
        "close-waits-for-a-release" -> closeWaitsForAReleaseInSubmit()
        "close-during-callback" -> closeDuringCallback()
        "close-in-callback" -> closeInCallback()
        "close-in-classify" -> closeInClassify()
        "close-from-executor-task" -> closeFromExecutorTask(args[1])
        "stress" -> stress(args[1], args[2].toInt(), args[3].toInt())
        else -> error("unknown mode ${args[0]}")
    }
    exitProcess(0) // also when a scenario left a thread blocked
}

/** Ends the process if the scenario is still running after [seconds]: a deadlock fails the test instead of hanging it. */
private fun watchdog(scenario: String, seconds: Long) = thread(isDaemon = true, name = "watchdog") {
    Thread.sleep(seconds * 1000)
    System.out.flush()
    System.err.println("$scenario still running after $seconds s, deadlocked?")
    for ((stuck, stack) in Thread.getAllStackTraces()) {
        System.err.println("${stuck.name} ${stuck.state}")
        stack.forEach { System.err.println("    at $it") }
    }
    Runtime.getRuntime().halt(3)
}

/**
 * Returns once [closer] is parked inside `LiveStream.close()` waiting for a frame to be let go (its
 * stack holds close() and the condition's awaitUninterruptibly, and it is WAITING), or once
 * [returned] says its close() has come back. No sleeping: whether close() waits is then a fact to
 * read from `closer.isAlive`, not a guess that a few hundred milliseconds were enough.
 */
private fun awaitWaitingInClose(closer: Thread, returned: () -> Boolean = { !closer.isAlive }) {
    while (!returned()) {
        if (closer.state == Thread.State.WAITING) {
            val stack = closer.stackTrace
            val inClose = stack.any { it.className == LiveStream::class.java.name && it.methodName == "close" }
            if (inClose && stack.any { it.methodName == "awaitUninterruptibly" }) return
        }
        Thread.yield()
    }
}

/** A frame that knows how often it was released, like an `Image` that must be closed once. */
private class LiveFrame(val name: String, val timestamp: Long) {
    val releases = AtomicInteger()
    val classified = AtomicBoolean()
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

    // Logged first, so a scenario that sees the count go up knows the line is there.
    fun release(frame: LiveFrame) {
        add("release ${frame.name}")
        frame.releases.incrementAndGet()
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

/** A stream whose model logs each frame, counts [started] down, then blocks until [proceed] opens. */
private fun blockingStream(log: EventLog, started: CountDownLatch, proceed: CountDownLatch, executor: Executor) = LiveStream(
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

/**
 * a is being classified (the fake model blocks), b waits, c replaces b; close() releases c, then
 * waits until a's classification has returned and a is released (another thread lets the model
 * return a while after c's release); a's result is discarded. A second close() returns at once;
 * later frames are released at once, even with an old timestamp.
 */
private fun closeWhileClassifying() {
    val log = EventLog()
    val started = CountDownLatch(1)
    val proceed = CountDownLatch(1)
    val executor = Executors.newSingleThreadExecutor()
    val stream = blockingStream(log, started, proceed, executor)
    val frames = listOf(LiveFrame("a", 100), LiveFrame("b", 200), LiveFrame("c", 300), LiveFrame("d", 50), LiveFrame("e", 400))
    val (a, b, c, d, e) = frames
    stream.submit(a, a.timestamp)
    started.await()
    stream.submit(b, b.timestamp)
    stream.submit(c, c.timestamp)
    val closing = Thread.currentThread()
    val closeReturned = AtomicBoolean()
    val model = thread {
        // The model returns only once close() waits for it (or, wrongly, has returned without it).
        awaitWaitingInClose(closing, closeReturned::get)
        log.add("model returns")
        proceed.countDown()
    }
    log.add("closing ${counts(stream)}")
    stream.close()
    closeReturned.set(true)
    log.add("close returned a=${a.releases.get()} isClosed=${stream.isClosed} ${counts(stream)}")
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
    model.join()
    executor.shutdown()
    check(executor.awaitTermination(10, TimeUnit.SECONDS))
    log.add("after shutdown ${counts(stream)}")
    log.add(releases(frames))
    log.print()
}

/**
 * close() on another thread while a is classified: it does not return before a is released,
 * and neither does a second close() from a third thread; submit() meanwhile returns at once.
 * The two "returned" lines come in either order.
 */
private fun closeWaitsForTheClassification() {
    val log = EventLog()
    val started = CountDownLatch(1)
    val proceed = CountDownLatch(1)
    val executor = Executors.newSingleThreadExecutor()
    val stream = blockingStream(log, started, proceed, executor)
    val a = LiveFrame("a", 100)
    val b = LiveFrame("b", 200)
    stream.submit(a, a.timestamp)
    started.await()
    fun closer(name: String) = thread {
        stream.close()
        log.add("$name returned")
    }
    val first = closer("close 1")
    awaitWaitingInClose(first)
    log.add("close 1 waits while a is classified=${first.isAlive}")
    stream.submit(b, b.timestamp)
    log.add("submit during close returned")
    val second = closer("close 2")
    awaitWaitingInClose(second)
    log.add("close 2 waits too=${second.isAlive}")
    log.add("model returns")
    proceed.countDown()
    first.join()
    second.join()
    executor.shutdown()
    check(executor.awaitTermination(10, TimeUnit.SECONDS))
    log.add(counts(stream))
    log.add(releases(listOf(a, b)))
    log.print()
}

/**
 * A submit() on another thread is releasing the frame its new one replaced (slowly) when close()
 * is called: close() releases the new one, waits for that release, and only then returns.
 */
private fun closeWaitsForAReleaseInSubmit() {
    val log = EventLog()
    val executor = StepExecutor()
    val inRelease = CountDownLatch(1)
    val leave = CountDownLatch(1)
    val a = LiveFrame("a", 100)
    val b = LiveFrame("b", 200)
    val stream = LiveStream(
        classify = ::resultFor,
        release = { frame: LiveFrame ->
            if (frame === a) {
                log.add("releasing a")
                inRelease.countDown()
                leave.await()
            }
            log.release(frame)
        },
        listener = log.listener,
        executor = executor,
        clock = { 0L },
    )
    val submitter = thread {
        stream.submit(a, a.timestamp)
        stream.submit(b, b.timestamp) // replaces a, then releases it
    }
    inRelease.await()
    val closer = thread {
        stream.close()
        log.add("close returned")
    }
    awaitWaitingInClose(closer)
    log.add("close waits for a's release=${closer.isAlive}")
    leave.countDown()
    closer.join()
    submitter.join()
    executor.runNext()
    log.add("queued=${executor.queue.size} ${counts(stream)}")
    log.add(releases(listOf(a, b)))
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
    awaitWaitingInClose(closer)
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
 * close() inside a's result callback, on the classification thread: it cannot wait for itself, so
 * it releases the waiting b and returns; the callback goes on and is the last one.
 */
private fun closeInCallback() {
    val log = EventLog()
    val executor = Executors.newSingleThreadExecutor()
    val a = LiveFrame("a", 100)
    val b = LiveFrame("b", 200)
    val c = LiveFrame("c", 300)
    lateinit var stream: LiveStream<LiveFrame>
    val callbackDone = CountDownLatch(1)
    stream = LiveStream(
        classify = { frame: LiveFrame ->
            log.add("classify ${frame.name}")
            resultFor(frame)
        },
        release = log::release,
        listener = object : LiveStreamListener {
            override fun onResult(result: LiveResult) {
                log.add("callback ${result.timestampNanos} starts")
                if (result.timestampNanos == a.timestamp) {
                    thread { stream.submit(b, b.timestamp) }.join()
                    stream.close()
                    log.add("close returned in the callback")
                }
                log.add("callback ${result.timestampNanos} ends")
                callbackDone.countDown()
            }

            override fun onError(error: Throwable, timestampNanos: Long) = log.add("error $timestampNanos")
        },
        executor = executor,
        clock = { 0L },
    )
    stream.submit(a, a.timestamp)
    check(callbackDone.await(10, TimeUnit.SECONDS))
    stream.submit(c, c.timestamp)
    executor.shutdown()
    check(executor.awaitTermination(10, TimeUnit.SECONDS))
    stream.close()
    log.add("close from main returned ${counts(stream)}")
    log.add(releases(listOf(a, b, c)))
    log.print()
}

/**
 * close() inside classify, on the classification thread, while a is in flight and b waits: it
 * releases b and returns without waiting for itself; a is released once its classification
 * returns, and its result is discarded.
 */
private fun closeInClassify() {
    val log = EventLog()
    val executor = Executors.newSingleThreadExecutor()
    val a = LiveFrame("a", 100)
    val b = LiveFrame("b", 200)
    lateinit var stream: LiveStream<LiveFrame>
    stream = LiveStream(
        classify = { frame: LiveFrame ->
            log.add("classify ${frame.name}")
            thread { stream.submit(b, b.timestamp) }.join()
            stream.close()
            log.add("close returned in classify, a=${a.releases.get()}")
            resultFor(frame)
        },
        release = log::release,
        listener = log.listener,
        executor = executor,
        clock = { 0L },
    )
    stream.submit(a, a.timestamp)
    executor.shutdown()
    check(executor.awaitTermination(10, TimeUnit.SECONDS))
    stream.close()
    log.add("close from main returned ${counts(stream)}")
    log.add(releases(listOf(a, b)))
    log.print()
}

/**
 * close() from a task of the stream's executor, queued while a is classified and b waits. On a
 * single thread the task runs after a's classification and callback, closes the stream and
 * returns at once, although b's task is queued behind it. On a pool of two, the task runs beside
 * a's classification and close() waits for it, as from any thread.
 */
private fun closeFromExecutorTask(executorKind: String) {
    val log = EventLog()
    val started = CountDownLatch(1)
    val proceed = CountDownLatch(1)
    val executor: ExecutorService = when (executorKind) {
        "single" -> Executors.newSingleThreadExecutor()
        "pool" -> Executors.newFixedThreadPool(2)
        else -> error(executorKind)
    }
    val stream = blockingStream(log, started, proceed, executor)
    val a = LiveFrame("a", 100)
    val b = LiveFrame("b", 200)
    stream.submit(a, a.timestamp)
    started.await()
    stream.submit(b, b.timestamp)
    val closed = CountDownLatch(1)
    val closer = java.util.concurrent.CompletableFuture<Thread>()
    executor.execute {
        closer.complete(Thread.currentThread())
        log.add("task closes")
        stream.close()
        log.add("close returned on the executor")
        closed.countDown()
    }
    if (executorKind == "pool") {
        awaitWaitingInClose(closer.get()) { closed.count == 0L }
        log.add("close on the executor waits while a is classified=${closed.count != 0L}")
    }
    log.add("model returns")
    proceed.countDown()
    log.add("close on the executor returned=${closed.await(10, TimeUnit.SECONDS)}")
    executor.shutdown()
    check(executor.awaitTermination(10, TimeUnit.SECONDS))
    log.add(counts(stream))
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
    val classifiedAfterClose = AtomicInteger()
    val delivered: MutableList<Long> = Collections.synchronizedList(mutableListOf())
    val closeReturned = AtomicBoolean()
    val callbacksAfterClose = AtomicInteger()
    val errors = AtomicInteger()
    val stream = LiveStream(
        classify = { frame: LiveFrame ->
            maxActive.accumulateAndGet(active.incrementAndGet(), ::maxOf)
            if (frame.releases.get() != 0) classifiedAfterRelease.incrementAndGet()
            if (closeReturned.get()) classifiedAfterClose.incrementAndGet()
            frame.classified.set(true)
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
    // close() returned: no frame is being classified, and every frame that was is released.
    val activeAtClose = active.get()
    val heldAtClose = synchronized(frames) { frames.count { it.classified.get() && it.releases.get() == 0 } }
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
    println("classified_after_close=${classifiedAfterClose.get()}")
    println("at_close_classifying=$activeAtClose unreleased=$heldAtClose")
    println("some_processed=${stream.processedFrames > 0} some_dropped=${stream.droppedFrames > 0} some_errors=${errors.get() > 0}")
    // Every classification but at most one (in flight at close) reached the listener.
    println("classified_not_heard=${classified.get() - stream.processedFrames in 0..1}")
    System.err.println("accepted=${accepted.get()} refused=${refused.get()} processed=${stream.processedFrames} " +
        "dropped=${stream.droppedFrames} errors=${errors.get()}")
}

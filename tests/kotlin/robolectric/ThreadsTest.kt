// Issue 23 item 9: classifiers created at once on many threads share one thread count, decided once.
package com.example.mnv3.robolectric

import com.example.mnv3.MobileNetV3Classifier
import java.util.Collections
import java.util.concurrent.Callable
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class ThreadsTest {
    @Before
    fun setUp() {
        TestPrograms.reset()
        // A fresh process as far as the thread count goes: the other tests of this JVM decided one.
        System.clearProperty(PROPERTY)
    }

    @After
    fun tearDown() {
        System.clearProperty(PROPERTY)
    }

    /**
     * 32 first loads at once on 16 threads, asking for 0 (the default), 2 or 3 threads: exactly one
     * count is decided, every classifier created loads with it, and the runtime's one pool
     * (the test double records every `_unsafe_reset_threadpool`, as jni_layer.cpp calls it) is
     * only ever set to that count, so no load resizes the pool under a model already loaded. A
     * creation asking for another count is refused, before loading anything, with the library's
     * documented `IllegalStateException` naming both counts.
     */
    @Test
    fun classifiersCreatedAtOnceShareOneThreadCountAndNeverResizeThePool() {
        val model = TestModel.file()
        val requests = List(32) { listOf(0, 2, 3)[it % 3] }
        val pool = Executors.newFixedThreadPool(16)
        val start = CountDownLatch(1)
        val created = Collections.synchronizedList(ArrayList<MobileNetV3Classifier>())
        val refusals = Collections.synchronizedList(ArrayList<String>())
        try {
            val tasks = requests.map { requested ->
                pool.submit(Callable {
                    start.await()
                    try {
                        created.add(MobileNetV3Classifier.createFromFile(model, MobileNetV3Classifier.Options(numThreads = requested)))
                    } catch (refused: IllegalStateException) {
                        refusals.add("$requested: ${refused.message}")
                    }
                })
            }
            start.countDown()
            tasks.forEach { it.get(60, TimeUnit.SECONDS) }
        } finally {
            pool.shutdown()
        }
        val decided = MobileNetV3Classifier.numThreadsInUse
        assertTrue("decided $decided", decided >= 1)
        val expectedCreated = requests.count { it == 0 || it == decided }
        assertEquals(refusals.joinToString("\n"), expectedCreated, created.size)
        assertEquals(requests.size - expectedCreated, refusals.size)
        for (refusal in refusals) assertTrue(refusal, refusal.contains("already runs $decided threads"))
        assertEquals(setOf(decided), TestPrograms.threadPoolResets.toSet())
        assertEquals(created.size, TestPrograms.loads.get()) // a refused creation loads nothing
        created.forEach { it.close() }
        assertEquals(created.size, TestPrograms.closes.get())
    }

    private companion object {
        const val PROPERTY = "mnv3-sdk.executorch.num-threads"
    }
}

// Base of the Robolectric tests that run the demo's activities or the library's live streams: each
// starts with a fresh ExecuTorch test double and fails when any thread (the main one, a worker, a
// stream's, the camera's) let an exception escape, as the app would then crash. Such exceptions
// reach the default handler, set in @Before, once Robolectric has set the test up (a JUnit rule's
// before() runs earlier, and the handler it set missed the frames' thread's exceptions).
package com.example.mnv3.robolectric

import java.util.Collections
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Before
import org.pytorch.executorch.TestPrograms

abstract class WatchedForCrashes {
    private val uncaught = Collections.synchronizedList(ArrayList<Throwable>())

    @Before
    fun resetAndWatch() {
        TestPrograms.reset()
        Thread.setDefaultUncaughtExceptionHandler { _, error -> uncaught.add(error) }
    }

    @After
    fun nothingWasThrown() {
        assertEquals("exceptions nobody caught (the app would have crashed)", emptyList<Throwable>(), uncaught.toList())
    }
}

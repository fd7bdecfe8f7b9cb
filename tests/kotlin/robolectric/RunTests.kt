// Runs JUnit 4 test classes (Robolectric's among them) outside Gradle and prints one line per test,
// "PASS Class.method" or "FAIL Class.method: message", which tests/robolectric.py reads.
package com.example.mnv3.robolectric

import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    val core = JUnitCore()
    val failed = HashSet<String>()
    core.addListener(object : RunListener() {
        override fun testFailure(failure: Failure) {
            val name = failure.description.displayName()
            failed.add(name)
            val message = failure.trace.lineSequence().take(12).joinToString(" | ")
            println("FAIL $name: $message")
        }

        override fun testAssumptionFailure(failure: Failure) {
            failed.add(failure.description.displayName())
            println("FAIL ${failure.description.displayName()}: assumption: ${failure.message}")
        }

        override fun testFinished(description: Description) {
            if (description.displayName() !in failed) println("PASS ${description.displayName()}")
        }
    })
    core.run(*args.map { Class.forName(it) }.toTypedArray())
    System.out.flush()
    exitProcess(0) // the Python side judges each test; a daemon thread left running must not hang the JVM
}

private fun Description.displayName() = "${testClass?.simpleName ?: className}.$methodName"

package com.example.mnv3

/**
 * Why a classifier could not be created, in one sentence that says what to do: this library throws
 * it instead of letting the ExecuTorch runtime's errors (an [UnsatisfiedLinkError] is an `Error`,
 * which apps rarely catch) reach the app. The original error, if any, is the [cause].
 */
open class ClassifierException(message: String, cause: Throwable? = null) : RuntimeException(message, cause)

/**
 * The ExecuTorch runtime has no native library for this device's CPU: `org.pytorch:executorch-android`
 * ships them for [supportedAbis] only (64-bit ARM phones and x86_64 emulators), so a 32-bit device
 * cannot run the model. Apps that use this library should set the same `abiFilters`.
 *
 * @property deviceAbis the device's ABIs, most preferred first (`Build.SUPPORTED_ABIS`).
 * @property supportedAbis the ABIs the runtime is built for.
 */
class UnsupportedDeviceException(
    val deviceAbis: List<String>,
    val supportedAbis: List<String>,
    cause: Throwable,
) : ClassifierException(
    "the ExecuTorch runtime has no native library for this device (ABIs ${deviceAbis.joinToString()}); " +
        "it runs on ${supportedAbis.joinToString()} only",
    cause,
)

/**
 * [ImageProcessingOptions] that cannot apply: a region of interest that is empty, upside down,
 * outside the image (0..1 when normalised) or thinner than a pixel, or a rotation that is not a
 * multiple of 90 degrees. An [IllegalArgumentException], as MediaPipe throws for such options, so
 * code catching that keeps working; thrown before any pixel is read.
 */
class InvalidImageProcessingOptionsException(message: String) : IllegalArgumentException(message)

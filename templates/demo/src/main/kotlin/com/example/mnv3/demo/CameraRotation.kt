package com.example.mnv3.demo

/**
 * How far a camera frame is turned from upright on the screen; plain Kotlin, tested on the JVM.
 *
 * The Camera2 guide ("Camera preview", orientation calculation) and the sample under
 * `CaptureRequest.JPEG_ORIENTATION` compute `(sensorOrientation + deviceOrientation) % 360`, with
 * the device orientation negated for a front camera, where the device orientation is measured
 * clockwise, as `OrientationEventListener` reports it. The display's rotation is measured the
 * other way: `Display.getRotation` is "the rotation of the drawn graphics on the screen, which is
 * the opposite direction of the physical rotation of the device". In terms of the display
 * rotation, then, as CameraX computes it (`CameraOrientationUtil.getRelativeImageRotation`):
 *
 *     back camera:  (sensorOrientation - displayRotation + 360) % 360
 *     front camera: (sensorOrientation + displayRotation) % 360
 *
 * The display rotation is used rather than the device's, so the model sees the frame as the
 * preview shows it to the user, also when the screen does not follow the device (rotation lock).
 */
internal object CameraRotation {
    /**
     * The clockwise rotation, 0, 90, 180 or 270, that turns a frame from a camera with
     * [sensorOrientation] (`CameraCharacteristics.SENSOR_ORIENTATION`) upright on a display turned
     * by [displayRotation] degrees (`Surface.ROTATION_*` in degrees).
     */
    fun frameRotation(sensorOrientation: Int, frontFacing: Boolean, displayRotation: Int): Int {
        require(sensorOrientation % 90 == 0 && displayRotation % 90 == 0) {
            "rotations are multiples of 90 degrees, got $sensorOrientation and $displayRotation"
        }
        // A front camera faces the user, so the same turn of the device turns its image the other way.
        val rotation = if (frontFacing) sensorOrientation + displayRotation else sensorOrientation - displayRotation
        return ((rotation % 360) + 360) % 360
    }
}

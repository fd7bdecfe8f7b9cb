// The demo's CameraActivity run on Robolectric: the run-time camera permission (asked once per
// visit, a refusal shown, kept across recreation), a device without a camera, and with a camera
// that Robolectric's ShadowCameraManager offers, the frames its ImageReader delivers (Robolectric's
// ShadowImageReader: each post to the reader's surface is one frame) all closed, and everything
// onResume opened released by onPause, and the rotation and visible region each frame is classified
// with following the display as it turns; given a SurfaceTexture (Robolectric's TextureView makes
// none), the camera and a capture session open, and close on pause. Robolectric's Images have no
// planes, so frames fail to classify here, and the order of release stays checked in
// tests/test_generated_project.py.
package com.example.mnv3.robolectric

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.graphics.ImageFormat
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraManager
import android.media.ImageReader
import android.os.Bundle
import android.os.Handler
import android.os.HandlerThread
import android.util.Size
import android.view.Surface
import android.view.TextureView
import com.example.mnv3.ImageProcessingOptions
import com.example.mnv3.demo.CameraActivity
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.pytorch.executorch.TestPrograms
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController
import org.robolectric.shadows.ShadowCameraCharacteristics
import org.robolectric.shadows.ShadowCameraManager
import org.robolectric.shadows.ShadowDisplay
import org.robolectric.shadows.StreamConfigurationMapBuilder

@RunWith(RobolectricTestRunner::class)
class CameraActivityTest : WatchedForCrashes() {
    private val refused = "The camera permission was refused: allow it in the app's settings to classify live"

    private fun idleMain() = DemoApp.idleMain()

    private fun <T> field(activity: CameraActivity, name: String): T? = DemoApp.field(activity, name)

    private fun grantCamera() =
        shadowOf(TestModel.context() as android.app.Application).grantPermissions(Manifest.permission.CAMERA)

    @Test
    fun thePermissionIsAskedOncePerVisitAndARefusalIsShown() {
        val controller = Robolectric.buildActivity(CameraActivity::class.java).setup()
        val activity = controller.get()
        val request = shadowOf(activity).lastRequestedPermission
        assertEquals(listOf(Manifest.permission.CAMERA), request.requestedPermissions.toList())
        assertEquals("Waiting for the camera permission…", DemoApp.status(activity))

        // The dialog pauses and resumes the activity; the refusal arrives in between.
        controller.pause()
        val denied = intArrayOf(PackageManager.PERMISSION_DENIED)
        activity.onRequestPermissionsResult(request.requestCode, request.requestedPermissions, denied)
        controller.resume()
        assertEquals(refused, DemoApp.status(activity))
        assertTrue("not asked again", shadowOf(activity).lastRequestedPermission === request)

        // Turning the phone recreates the activity: it still does not ask again.
        val state = Bundle()
        controller.pause().saveInstanceState(state).stop().destroy()
        val again = Robolectric.buildActivity(CameraActivity::class.java).setup(state)
        assertEquals(refused, DemoApp.status(again.get()))
        assertNull(shadowOf(again.get()).lastRequestedPermission)
        again.pause().stop().destroy()
    }

    @Test
    fun anInterruptedRequestWithEmptyResultsIsARefusal() {
        // Activity.onRequestPermissionsResult: empty arrays when the interaction was interrupted.
        val activity = Robolectric.buildActivity(CameraActivity::class.java).setup().get()
        val request = shadowOf(activity).lastRequestedPermission
        activity.onRequestPermissionsResult(request.requestCode, emptyArray(), IntArray(0))
        assertEquals(refused, DemoApp.status(activity))
    }

    @Test
    fun aDeviceWithoutACameraSaysSo() {
        grantCamera()
        val activity = Robolectric.buildActivity(CameraActivity::class.java).setup().get()
        idleMain()
        assertEquals("This device has no camera", DemoApp.status(activity))
        assertNull(shadowOf(activity).lastRequestedPermission)
    }

    private fun addBackCamera(frame: Size) {
        val characteristics = ShadowCameraCharacteristics.newCameraCharacteristics()
        val shadow = shadowOf(characteristics)
        shadow.set(CameraCharacteristics.LENS_FACING, CameraCharacteristics.LENS_FACING_BACK)
        shadow.set(CameraCharacteristics.SENSOR_ORIENTATION, 90)
        shadow.set(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP, StreamConfigurationMapBuilder.newBuilder()
            .addOutputSize(ImageFormat.YUV_420_888, frame)
            .addOutputSize(ImageFormat.PRIVATE, frame) // what SurfaceTexture outputs are listed under
            .build())
        val manager = TestModel.context().getSystemService(Context.CAMERA_SERVICE) as CameraManager
        shadowOf(manager).addCamera("0", characteristics)
    }

    private fun frameThreadsAlive() = Thread.getAllStackTraces().keys.count { it.name == "camera-frames" && it.isAlive }

    /**
     * Posts [count] frames to the reader's surface one at a time, as a camera does at its frame
     * rate: each is taken on the frames' thread before the next is posted (a marker posted behind
     * it there has run). Posted all at once, one acquireLatestImage would take them all and close
     * every one but the newest itself, and frames the app never closes would go unnoticed.
     */
    private fun deliverFrames(activity: CameraActivity, count: Int) {
        val reader = checkNotNull(field<ImageReader>(activity, "imageReader"))
        val frames = Handler(checkNotNull(field<HandlerThread>(activity, "frameThread")).looper)
        repeat(count) {
            val canvas = reader.surface.lockCanvas(null)
            reader.surface.unlockCanvasAndPost(canvas)
            val taken = CountDownLatch(1)
            frames.post { taken.countDown() }
            assertTrue("the frames' thread took the frame", taken.await(30, TimeUnit.SECONDS))
        }
    }

    /** A phone with a 640×480 back camera (sensor at 90°), the permission granted and the bundled model. */
    private fun phoneWithBackCamera() {
        DemoApp.registerBundledModel()
        grantCamera()
        addBackCamera(Size(640, 480))
    }

    /** CameraActivity on [phoneWithBackCamera], once the model's load queued by onResume has run. */
    private fun startWithBackCamera(): ActivityController<CameraActivity> {
        phoneWithBackCamera()
        return Robolectric.buildActivity(CameraActivity::class.java).setup().also { DemoApp.drainWorker(it.get()) }
    }

    @Test
    fun everyFrameIsClosedAndOnPauseReleasesWhatOnResumeOpened() {
        val controller = startWithBackCamera()
        val activity = controller.get()
        assertEquals(1, TestPrograms.loads.get())
        val reader = checkNotNull(field<ImageReader>(activity, "imageReader")) { "no reader: ${DemoApp.status(activity)}" }
        assertEquals(ImageFormat.YUV_420_888, reader.imageFormat)
        assertEquals(640 to 480, reader.width to reader.height)
        // acquireLatestImage holds two images at once to skip to the newest, and the stream one being
        // classified and one waiting: with fewer buffers the camera stalls (ImageReader.acquireLatestImage).
        assertTrue(reader.maxImages >= 2 + 2)

        // Many more frames than the reader holds (maxImages): ImageReader.acquireLatestImage throws
        // IllegalStateException on the frames' thread once maxImages images are held unclosed.
        deliverFrames(activity, 5 * reader.maxImages)
        assertEquals(1, frameThreadsAlive())

        controller.pause()
        DemoApp.drainWorker(activity)
        assertEquals("the classifier is closed once paused", 1, TestPrograms.closes.get())
        assertNull(field<ImageReader>(activity, "imageReader"))
        assertEquals("the frames' thread has ended", 0, frameThreadsAlive())

        // Back in front: everything is opened again, and released again by the last pause.
        controller.resume()
        DemoApp.drainWorker(activity)
        assertEquals(2, TestPrograms.loads.get())
        deliverFrames(activity, 5 * reader.maxImages)
        controller.pause().stop().destroy()
        DemoApp.drainWorker(activity)
        assertEquals(2, TestPrograms.closes.get())
        assertTrue(DemoApp.worker(activity).isTerminated)
        assertEquals(0, frameThreadsAlive())
    }

    /**
     * Issue 23 items 6 and 7: each frame is classified with the rotation the display has now and
     * the part of the frame the preview shows (ImageProcessingOptions.visibleInView of the frame,
     * that rotation and the view's size), recomputed when the display turns: a turn by 180°
     * recreates nothing, so only the DisplayListener hears of it.
     */
    @Test
    fun turningThePhoneChangesWhatEachFrameIsClassifiedWith() {
        val controller = startWithBackCamera()
        val activity = controller.get()
        val preview = DemoApp.views(activity).filterIsInstance<TextureView>().single()
        assertTrue("the preview is laid out", preview.width > 0 && preview.height > 0)

        // A back camera's sensor (90°) on a phone held upright, then turned into landscape both ways.
        val display = ShadowDisplay.getDefaultDisplay()
        val turns = listOf(Surface.ROTATION_0 to 90, Surface.ROTATION_90 to 0, Surface.ROTATION_270 to 180)
        for ((displayRotation, frameRotation) in turns) {
            shadowOf(display).setRotation(displayRotation)
            idleMain()
            val expected = ImageProcessingOptions.visibleInView(640, 480, frameRotation, preview.width, preview.height)
            val processing = field<ImageProcessingOptions>(activity, "processing")
            assertEquals("display rotation $displayRotation", expected, processing)
        }
        controller.pause().stop().destroy()
        DemoApp.drainWorker(activity)
    }

    /**
     * With a preview that can show frames (a SurfaceTexture, which Robolectric's TextureView never
     * makes itself, given with TextureView.setSurfaceTexture before onResume), the camera opens and
     * a preview session streams to the preview and the ImageReader; onPause closes the session and
     * the camera (held exclusively: other apps cannot open it meanwhile), and a camera that opens
     * after onPause is closed on arrival.
     */
    @Test
    fun theCameraOpensWhenThePreviewCanShowItAndIsClosedOnPause() {
        phoneWithBackCamera()
        val controller = Robolectric.buildActivity(CameraActivity::class.java).create().start().postCreate(null)
        val activity = controller.get()
        val preview = DemoApp.views(activity).filterIsInstance<TextureView>().single()
        preview.setSurfaceTexture(SurfaceTexture(0))
        controller.resume().visible()
        idleMain()
        val camera = checkNotNull(field<CameraDevice>(activity, "camera")) { "no camera: ${DemoApp.status(activity)}" }
        checkNotNull(field<CameraCaptureSession>(activity, "session")) { "no session: ${DemoApp.status(activity)}" }
        camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW) // open: this works

        controller.pause()
        assertNull(field<CameraDevice>(activity, "camera"))
        assertNull(field<CameraCaptureSession>(activity, "session"))
        assertClosed(camera)

        // Back in front and paused again before the camera has finished opening (onOpened is posted
        // to the main thread): the camera that arrives after onPause is closed at once.
        controller.resume()
        controller.pause()
        idleMain()
        assertNull(field<CameraDevice>(activity, "camera"))
        val opened = openedCameras()
        assertEquals(2, opened.size)
        opened.forEach(::assertClosed)
        DemoApp.drainWorker(activity)
        controller.stop().destroy()
        DemoApp.drainWorker(activity)
    }

    /** Every camera device Robolectric's CameraManager opened in this test (ShadowCameraManager.createdCameras). */
    private fun openedCameras(): List<CameraDevice> =
        ShadowCameraManager::class.java.getDeclaredField("createdCameras").apply { isAccessible = true }
            .let { it.get(null) as Set<*> }.map { it as CameraDevice }

    private fun assertClosed(camera: CameraDevice) {
        try {
            camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW)
            fail("camera ${camera.id} is still open")
        } catch (closed: IllegalStateException) {
            // CameraDeviceImpl.checkIfCameraClosedOrInError: "CameraDevice was already closed"
        }
    }
}

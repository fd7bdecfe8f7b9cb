"""The generated library's own compiled classes on Robolectric: the real Android framework
classes (Bitmap, Context and its assets, android.media.Image) on the JVM, ExecuTorch through its
test double (tests/kotlin/executorch_test_double/README.md). tests/robolectric.py says how it runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import made_once
from kotlin_jvm import DEFAULT_SETTINGS
from robolectric import KOTLIN_TESTS, Robolectric

TESTS = KOTLIN_TESTS / "robolectric"
PACKAGE = "com.example.mnv3.robolectric"
DEMO_ASSETS = Path(__file__).parents[1] / "templates" / "demo" / "src" / "main" / "assets"


@pytest.fixture(scope="session")
def robolectric(tmp_path_factory) -> Robolectric:
    return made_once(tmp_path_factory, "robolectric", compile_for_robolectric)


def compile_for_robolectric(folder: Path) -> Robolectric:
    assets = folder / "assets"
    # The test double opens any file whose bytes a test registered: these stand for the .pte.
    model = assets / DEFAULT_SETTINGS.asset_path
    model.parent.mkdir(parents=True)
    model.write_bytes(b"mnv3-sdk robolectric test model\n" * 64)
    # The demo app's own asset, the photo MainActivity classifies when asked to use the sample.
    shutil.copyfile(DEMO_ASSETS / "sample.jpg", assets / "sample.jpg")
    manifest = folder / "AndroidManifest.xml"
    manifest.write_text('<manifest xmlns:android="http://schemas.android.com/apk/res/android" '
                        'package="com.example.mnv3.demo">\n  <application />\n</manifest>\n')
    sources = sorted(TESTS.glob("*.kt")) + sorted((KOTLIN_TESTS / "camerax_standin").rglob("*.kt"))
    return Robolectric(folder, DEFAULT_SETTINGS, sources, assets, manifest)


@pytest.fixture(scope="session")
def outcomes(robolectric, tmp_path_factory) -> dict[str, str]:
    """Every Robolectric test class, in one JVM."""
    classes = sorted(f"{PACKAGE}.{path.stem}" for path in TESTS.glob("*Test.kt") if path.stem not in OWN_JVM)
    return made_once(tmp_path_factory, "robolectric-outcomes", lambda folder: robolectric.run(
        *classes, properties={"mnv3.test.exif": str(exif_photos(folder))}))


def exif_photos(folder: Path) -> Path:
    """JPEGs as Pillow writes them with each EXIF orientation (TIFF tag 274, 1-8), one without EXIF,
    and a PNG, for OrientationTest."""
    from PIL import Image

    image = Image.new("RGB", (6, 4), (200, 30, 90))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(folder / f"orientation-{orientation}.jpg", exif=exif)
    image.save(folder / "no-exif.jpg")
    image.save(folder / "no-exif.png")
    return folder


# Test classes that need a JVM of their own, with these system properties.
OWN_JVM = {"MissingAbiTest": {"executorch.testdouble.missingAbi": "true"}}


def check(outcomes: dict[str, str], *names: str) -> None:
    failed = [f"{name}: {outcomes.get(name, 'did not run')}" for name in names if outcomes.get(name) != "PASS"]
    assert not failed, "\n".join(failed)


def test_closing_the_classifier_closes_its_streams_and_later_frames_are_dropped(outcomes):
    """Issue 23 item 1: a LiveStream of a closed classifier used to rethrow the closed executor's
    RejectedExecutionException on the camera's thread, killing the app."""
    check(outcomes, "LifecycleTest.closingTheClassifierClosesItsStreamsAndLaterFramesAreDropped")


def test_closing_the_classifier_waits_for_the_frame_in_flight(outcomes):
    check(outcomes, "LifecycleTest.closingTheClassifierWaitsForTheFrameInFlightAndNoResultFollows")


def test_every_order_of_closing_streams_and_classifier_is_safe(outcomes):
    check(outcomes, "LifecycleTest.everyOrderOfClosingIsSafe")


def test_a_device_without_a_runtime_build_for_its_abi_gets_the_librarys_exception(robolectric):
    """Issue 23 item 2: executorch-android ships arm64-v8a and x86_64 only (upstream's
    scripts/build_android_library.sh); on a 32-bit device Module's static initializer throws
    UnsatisfiedLinkError, an Error apps do not catch, then NoClassDefFoundError on every retry. The
    demo's BenchmarkActivity writes the library's exception as its result there."""
    name = "MissingAbiTest"
    check(robolectric.run(f"{PACKAGE}.{name}", properties=OWN_JVM[name]),
          f"{name}.createThrowsTheLibrarysExceptionNamingTheDeviceAndSupportedAbisEveryTime")


def test_load_time_is_module_load_and_load_method_only(outcomes):
    """ExecuTorch's benchmark app times `Module.load(model.path)` and `module.loadMethod("forward")`
    and nothing else as model_load_time (extension/benchmark/android/benchmark/app/src/main/java/org/
    pytorch/minibench/ModelRunner.kt); the library measures the same span, checked with the calls'
    durations on Robolectric's clock."""
    check(outcomes, "LoadTest.loadTimeIsModuleLoadAndLoadMethodOnly")


def test_camerax_proxies_are_closed_once_on_every_path(outcomes):
    """Issue 23 item 3: ImageAnalysis stops delivering once its few proxies are all held. Proxies
    go in through CameraFrame's documented one-line adapter, compiled against the CameraX
    stand-in (tests/kotlin/camerax_standin/README.md), and are closed once: classified, failed,
    given to a closed classifier, replaced in a stream, after the stream's close."""
    check(outcomes, "CameraXTest.aClassifiedProxyIsClosedOnceAndOnlyItsCropRectIsClassified",
          "CameraXTest.aProxyIsClosedOnceWhenClassifyingFailsOrTheClassifierIsClosed",
          "CameraXTest.aStreamClosesEveryProxyOnceAndTakesEachFramesRotation")


def test_an_images_crop_rect_is_what_is_classified(outcomes):
    """Issue 23 item 5: Image.getCropRect() (digital zoom, buffers larger than the picture) was
    ignored; a cropped frame now gives the very input tensor of a frame holding only that part."""
    check(outcomes, "CropTest.anImagesCropRectIsClassifiedAsAFrameOfItsOwn")


def test_a_model_without_metadata_is_refused_in_one_line_with_the_fix(outcomes):
    """Issue 23 item 10: a .pte not made by mnv3-sdk failed with ExecuTorch's "Cannot get method
    names [Native Error: 0x12]" (what the test double, like jni_layer.cpp, says)."""
    check(outcomes, "LoadTest.aModelWithoutMetadataIsRefusedWithWhatToDo")


def test_a_rotated_bitmap_classifies_as_the_upright_one(outcomes):
    """Issue 23 item 6: classify(bitmap) had no rotation, so portrait photos were classified
    sideways. With ImageProcessingOptions(rotationDegrees) (MediaPipe's), a bitmap stored sideways
    gives the very input tensor of the upright bitmap (byte-exact against Python/Pillow on the plain
    JVM: tests/test_kotlin.py::test_a_region_turned_upright_preprocesses_as_the_upright_image_byte_for_byte)."""
    check(outcomes, "OrientationTest.aRotatedBitmapClassifiesAsTheUprightOne",
          "OrientationTest.aRotationThatIsNotAQuarterTurnIsRefused",
          "OrientationTest.anUprightRegionOfASidewaysBitmapIsThatRegionOfTheUprightOne")


def test_exif_orientation_is_read_from_a_stream_and_a_uri(outcomes):
    """Issue 23 item 6: the EXIF orientation of a decoded photo was ignored. ExifOrientation reads it
    with the framework's android.media.ExifInterface (Robolectric runs the real class) from JPEGs
    Pillow wrote with each orientation, mapped as androidx's ExifInterface.getRotationDegrees."""
    check(outcomes, "OrientationTest.exifOrientationGivesTheRotationToUpright")


def test_what_the_preview_shows_is_what_is_classified(outcomes):
    """Issue 23 item 7: the classifier took the central square of the whole frame, while a preview
    that covers its view (PreviewView's FILL_CENTER, the demo's TextureView) shows the centre with
    the view's shape: on a phone held upright, a narrower part. ImageProcessingOptions.visibleInView
    (the demo's call) and a CameraFrame's upright region make the classified pixels exactly the
    visible ones: the very input tensor of a frame holding only them."""
    check(outcomes, "RegionOfInterestTest.theVisibleRegionIsTheCentreOfTheUprightPictureWithTheViewsShape",
          "RegionOfInterestTest.whatAPortraitPreviewShowsIsWhatIsClassified",
          "RegionOfInterestTest.aCameraFramesUprightRegionIsClassifiedWhateverItsRotation")


def test_classifiers_created_at_once_share_one_thread_count(outcomes):
    """Issue 23 item 9: every Module.load resizes ExecuTorch's one process-wide pool (jni_layer.cpp:
    _unsafe_reset_threadpool; threadpool.cpp recreates the pool for a new count), so two first
    loads racing, or a later load asking for another count, resized a pool other classifiers use.
    32 creations at once on 16 threads, asking for 0, 2 or 3: one count is decided, every load passes
    it (the test double records each reset), and the others are refused before loading anything."""
    check(outcomes, "ThreadsTest.classifiersCreatedAtOnceShareOneThreadCountAndNeverResizeThePool")


def test_steady_state_calls_allocate_nothing_proportional_to_the_frame(outcomes):
    """Issue 23 item 11: each call allocated a frame's worth of arrays (the window of pixels the
    filter reaches, its passes' rows; measured here on main's code: 1.42 and 2.75 MB for a bitmap,
    0.90 and 1.45 MB for a camera frame, at 640×480 and 1280×720), so at 30 fps the
    garbage collector ran constantly. The classifier now keeps preprocessing's arrays per caller
    in flight, and the input tensor wraps one direct buffer: ExecuTorch's
    `Tensor.fromBlob(FloatBuffer, shape)` wraps it as it is, where `fromBlob(FloatArray, shape)`
    would copy into a new direct buffer each call (extension/android/executorch_android/src/main/
    java/org/pytorch/executorch/Tensor.kt, v1.4.1), and `forward` reads it in place
    (extension/android/jni/jni_layer.cpp, newTensorFromJTensor: from_blob over
    GetDirectBufferAddress), which the test double's `registerReadingInPlace` plays. Heap bytes per
    call, on the caller's, the common pool's and the stream's threads, after a warm-up, for a
    bitmap, a camera Image and a CameraFrame stream at 640×480 and 1280×720: under 5% of a frame's
    ARGB bytes, and not more for the larger frame."""
    check(outcomes, "AllocationTest.steadyStateCallsAllocateNothingProportionalToTheFrame")


def test_concurrent_calls_never_share_their_arrays(outcomes):
    """The reused arrays are per call in flight: 40 calls on 4 threads each give the result their
    image gives alone (the logits are checksums of the whole input tensor)."""
    check(outcomes, "AllocationTest.concurrentCallsNeverShareTheirArrays")


# --- the demo app's activities, run as a user and `mnv3-sdk bench --adb` drive them ---------------

def test_main_activity_loads_classifies_and_closes_on_its_worker_and_shows_failures(outcomes):
    """MainActivity: the bundled model loads, classifies the sample photo and is closed on one
    worker thread, never the main one; a model that cannot load and a classification that fails are
    shown on screen, not thrown; a model still loading when the activity is destroyed is closed as
    soon as it has loaded, and nothing is shown on the destroyed activity; the camera button is
    enabled only where PackageManager has FEATURE_CAMERA_ANY and opens CameraActivity."""
    check(outcomes, "MainActivityTest.theBundledModelLoadsClassifiesTheSampleAndClosesOnOneWorkerThread",
          "MainActivityTest.aModelThatCannotLoadIsShownAndTheSampleButtonSaysSo",
          "MainActivityTest.aFailingClassificationIsShownNotThrown",
          "MainActivityTest.aModelStillLoadingWhenTheActivityIsDestroyedIsClosedOnceLoaded",
          "MainActivityTest.theCameraButtonIsEnabledOnlyWithACameraAndOpensTheCameraScreen")


def test_benchmark_activity_writes_its_result_and_every_failure_for_the_host(outcomes):
    """BenchmarkActivity with the extras sdk/mnv3_sdk/bench/device.py passes: every iteration's time,
    the library's loadTimeMs as load_ms (Module.load 7 ms + loadMethod 3 ms of Robolectric's clock:
    10.0, the metadata read not counted), the bundled model without `model`, preprocessing times for
    an end-to-end YUV frame; a missing file, a file ExecuTorch refuses (its error code), a bad
    frame_format and an Error (OutOfMemoryError) all written as results, atomically, and the
    activity finishes. (The missing native library: MissingAbiTest.)"""
    check(outcomes, "BenchmarkActivityTest.aRunReportsEveryIterationAndTheLoadTimeTheLibraryMeasures",
          "BenchmarkActivityTest.aRunWithoutAModelPathUsesTheBundledModel",
          "BenchmarkActivityTest.anEndToEndCameraFrameRunTimesPreprocessingToo",
          "BenchmarkActivityTest.everyFailureIsWrittenAsAResultWithExecutorchsErrorCode")


def test_camera_activity_asks_for_the_permission_once_and_releases_everything_on_pause(outcomes):
    """CameraActivity: the CAMERA permission is requested once per visit (kept across recreation),
    a refusal or an interrupted request (empty results, Activity.onRequestPermissionsResult) is
    shown; with the permission and no camera it says so; with a camera (Robolectric's
    ShadowCameraManager), five times maxImages frames posted to its ImageReader
    (ShadowImageReader) never exhaust the reader, and onPause closes the classifier and the reader
    and ends the frames' thread, every time."""
    check(outcomes, "CameraActivityTest.thePermissionIsAskedOncePerVisitAndARefusalIsShown",
          "CameraActivityTest.anInterruptedRequestWithEmptyResultsIsARefusal",
          "CameraActivityTest.aDeviceWithoutACameraSaysSo",
          "CameraActivityTest.everyFrameIsClosedAndOnPauseReleasesWhatOnResumeOpened")


def test_turning_the_phone_changes_what_the_camera_demo_classifies_each_frame_with(outcomes):
    """Issue 23 items 6 and 7 in the demo: the rotation (CameraRotation's Camera2 formula for a back
    sensor at 90°: 90, 0 and 180 for display rotations 0, 90 and 270) and the region the preview shows
    (visibleInView of the frame, that rotation and the view's size) follow the display as it turns,
    through the DisplayListener (a 180° turn recreates no activity)."""
    check(outcomes, "CameraActivityTest.turningThePhoneChangesWhatEachFrameIsClassifiedWith")


def test_the_camera_demo_opens_the_camera_for_its_preview_and_closes_it_on_pause(outcomes):
    """Camera2Basic's lifecycle in the demo: the camera opens once the preview has a SurfaceTexture,
    a session streams to the preview and the frames' reader, and onPause closes session and camera
    (CameraDeviceImpl refuses requests once closed), so other apps can use the camera."""
    check(outcomes, "CameraActivityTest.theCameraOpensWhenThePreviewCanShowItAndIsClosedOnPause")

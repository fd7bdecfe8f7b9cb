"""The generated LiveStream (camera frames in, results out, never a backlog), run on the JVM with a
fake model, an executor the test runs by hand or real threads, and a fake clock
(tests/kotlin/LiveStreamHarness.kt prints each scenario; these tests compare it line by line)."""

import pytest

# tests/kotlin/LiveStreamHarness.kt, compiled into the session's `harness` (conftest.py).
MAIN = "com.example.mnv3.LiveStreamHarnessKt"


def run(harness, *args: str) -> list[str]:
    return harness.run(*args, main=MAIN).splitlines()


def test_the_newest_frame_replaces_the_waiting_one(harness):
    """a is replaced by b before the executor runs; c by d while b is classified. One task is
    queued at a time, latencies count from submit() on the stream's clock, every frame is
    released once."""
    assert run(harness, "replace") == [
        "submit a 100",
        "submit b 200",
        "release a",
        "queued=1 dropped=1 processed=0",
        "run",
        "classify b",
        "submit c 300",
        "submit d 400",
        "release c",
        "release b",
        "result 200 b latency=6.0",
        "queued=1 dropped=2 processed=1",
        "run",
        "classify d",
        "release d",
        "result 400 d latency=2.0",
        "queued=0 dropped=2 processed=2",
        "releases a=1 b=1 c=1 d=1",
    ]


def test_errors_go_to_on_error_one_callback_per_frame_and_the_stream_goes_on(harness):
    assert run(harness, "errors") == [
        "release a",
        "error 100 IllegalStateException: no model for a",
        "queued=0",
        "release b",
        "result 200 b latency=0.0",
        "queued=0",
        # Releasing failed after a good classification: the frame's one callback is the error.
        "release c",
        "error 300 IllegalStateException: c was already closed",
        "queued=0",
        "release d",
        "result 400 d latency=0.0",
        "queued=0",
        # The listener itself threw: the exception reaches the executor, the stream does not stall.
        "release e",
        "result 500 e latency=0.0",
        "task threw listener bug",
        "queued=0",
        "release f",
        "error 600 IOException: bad pixels in f (suppressed IllegalStateException: f was already closed)",
        "queued=0",
        "release g",
        "result 700 g latency=0.0",
        "queued=0",
        "dropped=0 processed=7",
        "releases a=1 b=1 c=1 d=1 e=1 f=1 g=1",
    ]


def test_timestamps_must_strictly_increase(harness):
    """As in MediaPipe's live-stream mode; a refused frame is released before the exception, and
    is counted neither as dropped nor as processed."""
    assert run(harness, "timestamps") == [
        "accepted first",
        "release first",
        "result -5 first latency=0.0",
        "release same",
        "refused same: timestamp -5 is not after the previous frame's -5: live-stream timestamps must strictly increase",
        "release earlier",
        "refused earlier: timestamp -6 is not after the previous frame's -5: live-stream timestamps must strictly increase",
        "accepted next",
        "release next",
        "result -4 next latency=0.0",
        "accepted later",
        "release later",
        "result 1 later latency=0.0",
        "dropped=0 processed=3",
        "releases first=1 same=1 earlier=1 next=1 later=1",
    ]


def test_close_releases_every_frame_and_no_result_follows(harness):
    """close() releases the waiting c, then waits while a is still classified (the model returns
    200 ms after c's release, on another thread) and returns only once a is released, its result
    discarded; a second close() returns at once; frames submitted after close are released at once
    without an exception (even with an old timestamp)."""
    assert run(harness, "close") == [
        "classify a",
        "release b",
        "closing dropped=1 processed=0",
        "release c",
        "model returns",
        "release a",
        "close returned a=1 isClosed=true dropped=3 processed=0",
        "closed again dropped=3 processed=0",
        "release d",
        "submitted d after close",
        "release e",
        "submitted e after close",
        "after shutdown dropped=5 processed=0",
        "releases a=1 b=1 c=1 d=1 e=1",
    ]


def test_close_from_another_thread_returns_only_after_the_frame_in_flight_is_released(harness):
    """So that `stream.close(); imageReader.close()` never frees a buffer the model is reading
    (ImageReader.close: reading an image's buffers afterwards is undefined behaviour). A second
    close() waits as well; submit() during close() still returns at once."""
    lines = run(harness, "close-waits")
    assert lines[:7] == [
        "classify a",
        "close 1 waits while a is classified=true",
        "release b",
        "submit during close returned",
        "close 2 waits too=true",
        "model returns",
        "release a",
    ]
    # The two close() calls return once a is released, in either order.
    assert sorted(lines[7:9]) == ["close 1 returned", "close 2 returned"]
    assert lines[9:] == ["dropped=2 processed=0", "releases a=1 b=1"]


def test_close_waits_for_a_frame_a_concurrent_submit_is_releasing(harness):
    """Every frame the stream was given is released when close() returns, also the one a submit()
    on another thread has just replaced and is still releasing."""
    assert run(harness, "close-waits-for-a-release") == [
        "releasing a",
        "release b",
        "close waits for a's release=true",
        "release a",
        "close returned",
        "queued=0 dropped=2 processed=0",
        "releases a=1 b=1",
    ]


def test_close_waits_for_a_callback_in_progress_and_submit_does_not(harness):
    assert run(harness, "close-during-callback") == [
        "callback 100 starts",
        "close returned during the callback=false",
        "submit returned during the callback=true",
        "callback 100 ends",
        "close returned=true",
        "callbacks after close=0 dropped=1 processed=1",
        "releases a=1 b=1",
    ]


def test_close_in_a_callback_does_not_wait_for_itself(harness):
    """On the classification thread close() cannot wait for the callback it is called from: it
    releases the waiting b and returns; the callback goes on, and is the last one."""
    assert run(harness, "close-in-callback") == [
        "classify a",
        "release a",
        "callback 100 starts",
        "release b",
        "close returned in the callback",
        "callback 100 ends",
        "release c",
        "close from main returned dropped=2 processed=1",
        "releases a=1 b=1 c=1",
    ]


def test_close_in_classify_returns_and_the_frame_is_released_when_classification_returns(harness):
    assert run(harness, "close-in-classify") == [
        "classify a",
        "release b",
        "close returned in classify, a=0",
        "release a",
        "close from main returned dropped=2 processed=0",
        "releases a=1 b=1",
    ]


def test_close_from_a_task_on_a_single_thread_executor_returns_at_once(harness):
    """The task runs after a's classification and callback; b's task is queued behind it, and
    close() does not wait for queued tasks (they carry no frame)."""
    assert run(harness, "close-from-executor-task", "single") == [
        "classify a",
        "model returns",
        "release a",
        "result 100 a latency=0.0",
        "task closes",
        "release b",
        "close returned on the executor",
        "close on the executor returned=true",
        "dropped=1 processed=1",
        "releases a=1 b=1",
    ]


def test_close_from_a_task_on_a_pool_waits_for_the_classification_on_another_thread(harness):
    assert run(harness, "close-from-executor-task", "pool") == [
        "classify a",
        "task closes",
        "release b",
        "close on the executor waits while a is classified=true",
        "model returns",
        "release a",
        "close returned on the executor",
        "close on the executor returned=true",
        "dropped=2 processed=0",
        "releases a=1 b=1",
    ]


@pytest.mark.parametrize("executor", ["single", "pool"])
def test_concurrent_submitters_keep_the_invariants(harness, executor):
    """Eight camera threads, a model that takes microseconds and sometimes fails, close() halfway
    (it returns with no frame being classified, every classified frame released, and nothing is
    classified or heard after it); with one classification thread and with a pool of four."""
    assert run(harness, "stress", executor, "8", "4000") == [
        "submitted=true",
        "accepted_is_processed_plus_dropped=true",
        "released_once=true",
        "callbacks_are_processed=true",
        "timestamps_increase=true",
        "classify_at_once=1",
        "classified_after_release=0",
        "callbacks_after_close=0",
        "classified_after_close=0",
        # close() returned with no frame being classified, every classified frame released.
        "at_close_classifying=0 unreleased=0",
        "some_processed=true some_dropped=true some_errors=true",
        "classified_not_heard=true",
    ]

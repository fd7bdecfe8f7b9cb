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
    """close() returns while a is still classified and releases the waiting c; a second close()
    does nothing; frames submitted after close are released at once without an exception (even
    with an old timestamp); a's result is discarded and a is released when its classification
    ends."""
    assert run(harness, "close") == [
        "classify a",
        "release b",
        "closing dropped=1 processed=0",
        "release c",
        "closed while a is classified=true isClosed=true",
        "closed again dropped=2 processed=0",
        "release d",
        "submitted d after close",
        "release e",
        "submitted e after close",
        "release a",
        "after classification dropped=5 processed=0",
        "releases a=1 b=1 c=1 d=1 e=1",
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


@pytest.mark.parametrize("executor", ["single", "pool"])
def test_concurrent_submitters_keep_the_invariants(harness, executor):
    """Eight camera threads, a model that takes microseconds and sometimes fails, close() halfway;
    with one classification thread and with a pool of four."""
    assert run(harness, "stress", executor, "8", "4000") == [
        "submitted=true",
        "accepted_is_processed_plus_dropped=true",
        "released_once=true",
        "callbacks_are_processed=true",
        "timestamps_increase=true",
        "classify_at_once=1",
        "classified_after_release=0",
        "callbacks_after_close=0",
        "some_processed=true some_dropped=true some_errors=true",
        "classified_not_heard=true",
    ]

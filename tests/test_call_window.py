"""The Analyze call window: a bounded number of calls in flight, answers and errors where the caller reads them,
and a pack whose server cancels calls that wait too long still answers every resource of a large plan."""

import sys
import textwrap
import threading

import grpc
import pytest

from offline.call_window import CallWindow
from offline.policy import PolicyPackError, PolicyPackProcess


class _Call:
    """A gRPC future that the test answers by hand."""

    def __init__(self, request):
        self.request, self._callbacks, self._outcome = request, [], None

    def add_done_callback(self, callback):
        if self._outcome is None:
            self._callbacks.append(callback)
        else:
            callback(self)

    def answer(self, outcome):
        self._outcome = outcome
        for callback in self._callbacks:
            callback(self)

    def result(self):
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


class _Method:
    """A unary method whose calls stay open until the test answers them."""

    def __init__(self):
        self.sent, self.open = [], []

    def future(self, request):
        call = _Call(request)
        self.sent.append(request)
        self.open.append(call)
        return call


class _Failure(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE


def test_no_more_than_the_limit_is_in_flight_and_the_rest_go_in_order():
    method = _Method()
    window = CallWindow(method, 3)
    answers = [window.submit(n) for n in range(10)]
    assert method.sent == [0, 1, 2] and window.in_flight == 3
    method.open.pop(1).answer("one")
    assert method.sent == [0, 1, 2, 3] and window.in_flight == 3
    while method.open:
        call = method.open.pop(0)
        call.answer(f"r{call.request}")
    assert method.sent == list(range(10)) and window.in_flight == 0
    assert [a.result(timeout=0) for a in answers] == ["r0", "one", *[f"r{n}" for n in range(2, 10)]]


def test_an_error_reaches_the_caller_of_that_request_only():
    method = _Method()
    window = CallWindow(method, 2)
    first, second, third = (window.submit(n) for n in range(3))
    failure = _Failure()
    method.open[0].answer(failure)
    assert first.exception(timeout=0) is failure
    method.open[1].answer("fine")
    method.open[2].answer("also fine")
    assert (second.result(timeout=0), third.result(timeout=0)) == ("fine", "also fine")


def test_a_method_that_refuses_the_call_fails_that_request_and_frees_its_place():
    class Closed:
        def future(self, request):
            raise ValueError("Cannot invoke RPC on closed channel!")

    window = CallWindow(Closed(), 1)
    answers = [window.submit(n) for n in range(3)]
    assert [str(a.exception(timeout=0)) for a in answers] == ["Cannot invoke RPC on closed channel!"] * 3
    assert window.in_flight == 0


def test_calls_answered_at_once_do_not_recurse_as_deep_as_the_queue():
    class Immediate:
        def future(self, request):
            call = _Call(request)
            call.answer(request * 2)
            return call

    window = CallWindow(Immediate(), 1)
    count = sys.getrecursionlimit() * 3
    assert [window.submit(n).result(timeout=0) for n in range(count)][-1] == 2 * (count - 1)


def test_a_long_queue_answered_at_once_when_room_frees_does_not_recurse_as_deep_as_the_queue():
    class FirstOpenThenImmediate(_Method):
        def future(self, request):
            call = super().future(request)
            if request:  # every call but the first is answered at once
                call.answer(request)
            return call

    method = FirstOpenThenImmediate()
    window = CallWindow(method, 1)
    count = sys.getrecursionlimit() * 3
    answers = [window.submit(n) for n in range(count)]  # all but the first wait in the window
    method.open[0].answer(0)
    assert [a.result(timeout=0) for a in answers][-1] == count - 1


def test_a_refused_call_among_waiting_ones_does_not_hold_back_the_rest():
    class RefusesOne(_Method):
        def future(self, request):
            if request == 1:
                raise ValueError("refused")
            return super().future(request)

    method = RefusesOne()
    window = CallWindow(method, 1)
    first, refused, third = (window.submit(n) for n in range(3))
    method.open.pop(0).answer("first")
    assert str(refused.exception(timeout=0)) == "refused"
    assert method.sent == [0, 2]  # sent at once, not left waiting for another answer
    method.open.pop(0).answer("third")
    assert (first.result(timeout=0), third.result(timeout=0)) == ("first", "third")


def test_answers_from_other_threads_keep_the_window_full_until_the_queue_is_empty():
    method = _Method()
    window = CallWindow(method, 4)
    answers = [window.submit(n) for n in range(200)]
    peak = []

    def answer_all():
        while len(method.sent) < 200 or method.open:
            if method.open:
                peak.append(window.in_flight)
                call = method.open.pop(0)
                call.answer(call.request)

    worker = threading.Thread(target=answer_all)
    worker.start()
    worker.join(timeout=30)
    assert [a.result(timeout=5) for a in answers] == list(range(200))
    assert max(peak) == 4


def test_a_window_needs_room_for_one_call():
    with pytest.raises(ValueError, match="at least one call, not 0"):
        CallWindow(_Method(), 0)


# A pack whose server takes in one call per 5 ms, as a starved serving thread does on a loaded machine, and cancels
# a call left waiting for it longer than 1 s (gRPC's default is 30 s).
SLOW_PACK = textwrap.dedent(
    """\
    import time
    from concurrent.futures import ThreadPoolExecutor

    import grpc
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


    class SlowToTakeCalls(ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            time.sleep(0.005)
            return super().submit(*args, **kwargs)


    _server = grpc.server
    grpc.server = lambda executor, options=(): _server(
        SlowToTakeCalls(max_workers=4), options=[*options, ("grpc.server_max_unrequested_time_in_server", 1)]
    )
    PolicyPack(
        name="slow",
        enforcement_level=EnforcementLevel.ADVISORY,
        policies=[ResourceValidationPolicy(name="quiet", description="reports nothing", validate=lambda a, r: None)],
    )
    """
)


def _buckets(count):
    return [
        {
            "urn": f"urn:pulumi:dev::snowplow::aws:s3/bucket:Bucket::b{n}",
            "type": "aws:s3/bucket:Bucket",
            "name": f"b{n}",
            "custom": True,
            "inputs": {},
        }
        for n in range(count)
    ]


@pytest.fixture(scope="module")
def slow_pack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slow")
    (folder / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (folder / "__main__.py").write_text(SLOW_PACK)
    return folder


def test_the_slow_pack_cancels_calls_sent_all_at_once(slow_pack):
    """The hazard is real on this pack: without the window, the calls it leaves waiting are cancelled."""
    with PolicyPackProcess(slow_pack) as pack:
        pack.max_analyze_in_flight = 10_000
        pack.configure({})
        with pytest.raises(PolicyPackError, match="Analyze failed: CANCELLED"):
            pack.analyze_resources(_buckets(600))


def test_a_large_plan_is_answered_whole_by_a_pack_that_cancels_calls_left_waiting(slow_pack):
    with PolicyPackProcess(slow_pack) as pack:
        pack.configure({})
        violations, not_applicable = pack.analyze_resources(_buckets(600))
    assert (violations, not_applicable) == ([], [])

"""Under mutmut only: the policy pack's analyzer servicer runs inside the test process.

The suite normally drives the pack as its own process over gRPC, as the CLI does. mutmut learns which tests
reach which rule, and switches a mutant on, inside the test process, by the module name a function was
imported under (policies.snowplow_iam, as it names the mutants). So under mutmut the real pack is loaded
here with its modules imported under those names, and the driver calls the servicer directly: the same
requests and protobuf round trip, no process. Packs in other folders (the tests' broken packs) still start
as processes.
"""

import importlib
import runpy
import sys
from pathlib import Path
from unittest import mock

import pulumi_policy.policy as sdk
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from offline.policy import PolicyPackProcess

PACK_DIR = (Path(__file__).resolve().parent.parent / "policies").resolve()


class _Served(Exception):
    """Raised where PolicyPack() would start serving forever."""


class _NoServer:
    def add_insecure_port(self, address):
        return 0

    def start(self):
        raise _Served


class _Answered:
    """A call's answer, already there: what a gRPC future's result() returns."""

    def __init__(self, response):
        self._response = response

    def result(self):
        return self._response

    def add_done_callback(self, callback):
        callback(self)  # already answered: a gRPC future runs the callback at once too


class _DirectCall:
    """One stub method: called directly, or as `.future(request)` the way the driver streams Analyze."""

    def __init__(self, servicer_method):
        self._method = servicer_method

    def __call__(self, request):
        return self._method(request, None)

    def future(self, request):
        return _Answered(self(request))


class _DirectStub:
    """AnalyzerStub's calls, answered by the servicer itself."""

    def __init__(self, servicer):
        self._servicer = servicer

    def __getattr__(self, method):
        return _DirectCall(getattr(self._servicer, method))


def import_pack_modules() -> None:
    """Each pack module as policies.<name>, also answering the pack's own `import <name>`."""
    pending = sorted(p.stem for p in PACK_DIR.glob("*.py") if p.stem != "__main__")
    while pending:
        progress = False
        for name in list(pending):
            try:
                sys.modules[name] = importlib.import_module(f"policies.{name}")
            except ModuleNotFoundError as err:  # imports a pack module not aliased yet: try again later
                sys.modules.pop(f"policies.{name}", None)
                if err.name not in pending:
                    raise
                continue
            pending.remove(name)
            progress = True
        if not progress:
            raise ImportError(f"pack modules import each other in a cycle: {pending}")


def load_servicer():
    """Run the pack's __main__ as the policy host would, keeping the servicer PolicyPack() builds."""
    import_pack_modules()
    captured = []
    with (
        mock.patch.object(sdk.grpc, "server", lambda *a, **k: _NoServer()),
        mock.patch.object(sdk.analyzer_pb2_grpc, "add_AnalyzerServicer_to_server", lambda s, _: captured.append(s)),
    ):
        try:
            runpy.run_path(str(PACK_DIR / "__main__.py"), run_name="__main__")
        except _Served:
            pass
    (servicer,) = captured
    return servicer


_process_start, _process_close = PolicyPackProcess.start, PolicyPackProcess.close


def _start(self):
    if self._process is not None or self.pack_dir != PACK_DIR:  # a real process, or a test's stand-in for one
        return _process_start(self)
    self._await_warm_up()  # as start() does: one loader at a time, the warm-up's or the caller's
    if self._stub is None:
        self._stub = _DirectStub(load_servicer())
        self._info = self._stub.GetAnalyzerInfo(empty_pb2.Empty())
        self._stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack, project=self.project, organization=self.organization, dry_run=True
            )
        )
    return self


def _close(self):
    if self.pack_dir != PACK_DIR:
        return _process_close(self)
    self._configured = None
    self._stub = self._analyze_window = None


def serve_the_pack_in_process() -> None:
    """From now on every PolicyPackProcess of the real pack answers in this process.

    The pack's modules are imported now, before any test imports one by its bare name (`import snowplow_rules`),
    so that every import of a rule module finds the one mutmut names and switches."""
    import_pack_modules()
    PolicyPackProcess.start, PolicyPackProcess.close = _start, _close

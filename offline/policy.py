"""Run the CrossGuard pack in `policies/` over gRPC, the way `pulumi preview --policy-pack` does.

The CLI's Python shim starts `python -u -m pulumi.policy <engine> .` in the pack directory, reads the
port from the first stdout line, then calls GetAnalyzerInfo, Configure (the complete config: schema
defaults, the pack's initial config and the --policy-pack-config file, merged like
pulumi/pulumi `ReconcilePolicyPackConfig`), Analyze once per resource and AnalyzeStack once.

`run_policy_pack()` does all of that for one plan; `PolicyPackProcess` keeps one pack process alive
for many runs (tests use one per session; starting a pack costs about half a second).

Not sent: `retainOnDelete` (AnalyzerResourceOptions has no such field in pulumi 3.272, so policies
only ever see `protect`).
"""

from __future__ import annotations

import atexit
import json
import os
import pathlib
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

import grpc
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.call_window import CallWindow

DEFAULT_PACK_DIR = pathlib.Path(__file__).resolve().parent.parent / "policies"

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_FROM_PROTO = {v: k for k, v in _TO_PROTO.items()}


class PolicyPackError(RuntimeError):
    """The pack failed to start, its configuration is invalid, or an RPC failed (a policy crashed)."""


# ---------------------------------------------------------------------------------------------
# Configuration, merged as the CLI does
# ---------------------------------------------------------------------------------------------


def _split_entry(name: str, value: Any) -> tuple[str | None, dict]:
    """(enforcement level or None, properties) of one config-file entry."""
    if isinstance(value, str):
        level, props = value, {}
    elif isinstance(value, dict):
        props = dict(value)
        level = props.pop("enforcementLevel", None)
    else:
        raise PolicyPackError(f"policy config {name!r}: must be an enforcement level or an object, not {value!r}")
    if level is not None and level not in LEVELS:
        raise PolicyPackError(f"policy config {name!r}: {level!r} is not one of {LEVELS}")
    return level, props


def load_policy_config(config: pathlib.Path | dict | None) -> dict[str, tuple[str | None, dict]]:
    """Parse a `--policy-pack-config` file (or an equivalent dict) into {policy|"all": (level, props)}."""
    if config is None:
        return {}
    if isinstance(config, (str, pathlib.Path)):
        text = pathlib.Path(config).read_text()
        config = json.loads(text) if text.strip() else {}
    if not isinstance(config, dict):
        raise PolicyPackError("policy pack config must be a JSON object")
    return {name: _split_entry(name, value) for name, value in config.items()}


def reconcile_config(policies: Iterable[Any], initial: dict, given: dict) -> dict[str, tuple[str, dict]]:
    """Complete config per policy: schema defaults, then the pack's initial config, then `given`.

    In each layer an "all" level applies to every policy first; per-policy entries then win.
    """
    result: dict[str, tuple[str, dict]] = {}
    for info in policies:
        schema = json_format.MessageToDict(info.configSchema).get("properties", {})
        defaults = {k: v["default"] for k, v in schema.items() if isinstance(v, dict) and "default" in v}
        result[info.name] = (_FROM_PROTO[info.enforcementLevel], defaults)
    for layer in (initial, given):
        if "all" in layer and layer["all"][0]:
            result = {name: (layer["all"][0], props) for name, (_, props) in result.items()}
        for name, (level, props) in layer.items():
            if name == "all":
                continue
            old_level, old_props = result.get(name, ("advisory", {}))
            result[name] = (level or old_level, {**old_props, **props})
    _validate(policies, result)
    return result


def _validate(policies: Iterable[Any], config: dict) -> None:
    """Validate each policy's properties against its schema, as the CLI does (needs jsonschema)."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dev dependency
        return
    errors = []
    for info in policies:
        if not info.HasField("configSchema"):
            continue
        schema: dict = {"type": "object"}
        schema_dict = json_format.MessageToDict(info.configSchema)
        if schema_dict.get("properties"):
            schema["properties"] = schema_dict["properties"]
        if schema_dict.get("required"):
            schema["required"] = schema_dict["required"]
        _, props = config.get(info.name, ("advisory", {}))
        for error in jsonschema.Draft7Validator(schema).iter_errors(props):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            errors.append(f"{info.name}: {where}: {error.message}")
    if errors:
        raise PolicyPackError("invalid policy pack config:\n  " + "\n  ".join(errors))


# ---------------------------------------------------------------------------------------------
# Resources -> analyzer messages
# ---------------------------------------------------------------------------------------------


def _struct(values: dict | None) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values or {})
    return message


def _options(resource: dict) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(resource.get("protect")),
        parent=resource.get("parent") or "",
    )


def _provider_of(resource: dict, by_urn: dict) -> analyzer_pb2.AnalyzerProviderResource | None:
    """The resource's provider if the plan entry names one ("urn" or "urn::id") that is in the plan."""
    reference = resource.get("provider")
    if not reference:
        return None
    provider = by_urn.get(reference) or by_urn.get(reference.rsplit("::", 1)[0])
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider["type"], urn=provider["urn"], name=provider["name"], properties=_struct(provider.get("inputs"))
    )


def _analyze_request(resource: dict, by_urn: dict) -> analyzer_pb2.AnalyzeRequest:
    request = analyzer_pb2.AnalyzeRequest(
        type=resource["type"],
        urn=resource["urn"],
        name=resource["name"],
        properties=_struct(resource.get("inputs")),
        options=_options(resource),
    )
    provider = _provider_of(resource, by_urn)
    if provider is not None:
        request.provider.CopyFrom(provider)
    return request


def _stack_resource(resource: dict, by_urn: dict) -> analyzer_pb2.AnalyzerResource:
    message = analyzer_pb2.AnalyzerResource(
        type=resource["type"],
        urn=resource["urn"],
        name=resource["name"],
        properties=_struct(resource.get("inputs")),
        options=_options(resource),
        parent=resource.get("parent") or "",
        dependencies=list(resource.get("dependencies") or []),
    )
    for prop, urns in (resource.get("propertyDependencies") or {}).items():
        message.propertyDependencies[prop].urns.extend(urns)
    provider = _provider_of(resource, by_urn)
    if provider is not None:
        message.provider.CopyFrom(provider)
    return message


# ---------------------------------------------------------------------------------------------
# The pack process
# ---------------------------------------------------------------------------------------------


class PolicyPackProcess:
    """One running policy pack: `with PolicyPackProcess(stack="dev") as pack: pack.run(resources, config)`."""

    # Analyze calls sent and not yet answered, at most: the pack answers on 4 threads, and a call that waits in
    # its server's queue for 30 s is cancelled (offline/call_window.py)
    max_analyze_in_flight = 32

    def __init__(
        self,
        pack_dir: pathlib.Path = DEFAULT_PACK_DIR,
        *,
        stack: str = "dev",
        project: str = "snowplow",
        organization: str = "organization",
        stack_config: dict | None = None,
        python: str = sys.executable,
        start_timeout: float = 30.0,
    ):
        self.pack_dir = pathlib.Path(pack_dir).resolve()
        self.stack, self.project, self.organization = stack, project, organization
        self.stack_config = stack_config or {}
        self.python = python
        self.start_timeout = start_timeout
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._analyze_window: CallWindow | None = None
        self._stderr = None
        self._info: analyzer_pb2.AnalyzerInfo | None = None
        self._configured: tuple[str, dict] | None = None
        self._warm_up: threading.Thread | None = None
        self._warm_up_error: BaseException | None = None
        self._stream_lock: threading.Lock | None = None  # set by analyze_as_registered

    # --- lifecycle ---------------------------------------------------------------------------

    def warm_up(self, config: pathlib.Path | dict | None = None) -> PolicyPackProcess:
        """Start the pack and send `config` in the background; the next call on this object waits for it.

        A preview starts the pack while the program runs, so the pack's own start costs no wall time.
        """

        def work() -> None:
            try:
                self.start()
                self.configure(config)
            except BaseException as err:  # re-raised in the caller's thread by _await_warm_up
                self._warm_up_error = err

        self._warm_up = threading.Thread(target=work, name="policy-pack-warm-up", daemon=True)
        self._warm_up.start()
        return self

    def _await_warm_up(self) -> None:
        thread = self._warm_up
        if thread is None or thread is threading.current_thread():
            return
        thread.join()
        self._warm_up = None
        error, self._warm_up_error = self._warm_up_error, None
        if error is not None:
            raise error

    def start(self) -> PolicyPackProcess:
        self._await_warm_up()
        if self._process is not None:
            return self
        started = time.perf_counter()
        env = {
            **os.environ,
            "PULUMI_PROJECT": self.project,
            "PULUMI_STACK": self.stack,
            "PULUMI_ORGANIZATION": self.organization,
            "PULUMI_DRY_RUN": "true",
            "PULUMI_CONFIG": json.dumps(self.stack_config),
        }
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=self.pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        atexit.register(self.close)
        try:
            port = self._read_port()
            self._channel = grpc.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
            )
            grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
            self._info = self._stub.GetAnalyzerInfo(empty_pb2.Empty())
            self._stub.ConfigureStack(
                analyzer_pb2.AnalyzerStackConfigureRequest(
                    stack=self.stack, project=self.project, organization=self.organization, dry_run=True
                )
            )
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise PolicyPackError(f"policy pack did not report its port within {self.start_timeout}s")
                chunk = os.read(self._process.stdout.fileno(), 64)
                if not chunk:
                    self._process.wait(timeout=5)
                    raise PolicyPackError(
                        f"policy pack exited with code {self._process.returncode} before serving:\n{self.stderr()}"
                    )
                line += chunk
        try:
            return int(line.strip())
        except ValueError:
            raise PolicyPackError(f"unexpected first line from the policy pack: {line!r}") from None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stderr(self) -> str:
        """What the pack wrote to stderr so far."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def kill(self) -> None:
        """Stop the pack at once (SIGKILL): for a process that is about to exit and needs nothing more from it."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        self.close()

    def close(self) -> None:
        """Stop the pack: SIGINT (PolicyPack stops its server), then kill after a grace period."""
        try:
            self._await_warm_up()
        except BaseException:  # closing anyway; whoever needed the pack has seen the error already
            pass
        self._configured = None
        self._analyze_window = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                try:
                    process.send_signal(signal.SIGINT)
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        atexit.unregister(self.close)

    def __enter__(self) -> PolicyPackProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- RPCs --------------------------------------------------------------------------------

    @property
    def info(self) -> analyzer_pb2.AnalyzerInfo:
        """GetAnalyzerInfo as answered at start-up."""
        self.start()
        assert self._info is not None
        return self._info

    @property
    def version(self) -> str:
        """The pack version from PulumiPolicy.yaml (the CLI prefers it over the SDK's fixed 0.0.1)."""
        document = yaml.safe_load((self.pack_dir / "PulumiPolicy.yaml").read_text()) or {}
        return str(document.get("version") or self.info.version)

    def complete_config(self, config: pathlib.Path | dict | None = None) -> dict[str, tuple[str, dict]]:
        """{policy: (level, properties)} as the CLI would send it for this config file."""
        initial = {
            name: (_FROM_PROTO[c.enforcementLevel], json_format.MessageToDict(c.properties))
            for name, c in self.info.initialConfig.items()
        }
        return reconcile_config(self.info.policies, initial, load_policy_config(config))

    def configure(self, config: pathlib.Path | dict | None = None) -> dict[str, tuple[str, dict]]:
        """Send the complete config (skipped when it is the one the pack already has)."""
        self._await_warm_up()
        key = _config_key(config)
        if self._configured is not None and self._configured[0] == key:
            return self._configured[1]
        complete = self.complete_config(config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in complete.items():
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(enforcementLevel=_TO_PROTO[level], properties=_struct(props))
            )
        self._configured = None
        self._call("Configure", request)
        self._configured = (key, complete)
        return complete

    def _call(self, method: str, request: Any) -> Any:
        self.start()
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as err:
            raise PolicyPackError(f"{method} failed: {err.code().name}: {err.details()}") from err

    def analyze_as_registered(self) -> Callable[[dict], None]:
        """A callback for the engine: each resource goes to Analyze as soon as the program registers it, as the
        CLI analyzes resources while it plans them (queued until the warm-up has configured the pack). `run`
        then only collects the answers, in plan order; what it reports is what a batch run reports."""
        lock, seen = threading.Lock(), {}
        self._streamed, self._stream_queue, self._stream_key = {}, [], None

        def submit(resource: dict) -> None:
            with lock:
                seen[resource["urn"]] = resource
                if not resource.get("custom", True):
                    return
                warming = self._warm_up is not None and self._warm_up.is_alive()
                if warming or self._configured is None:
                    self._stream_queue.append((resource, dict(seen)))
                    return
                self._send_streamed(resource, seen)

        self._stream_lock = lock
        return submit

    def _send_streamed(self, resource: dict, seen: dict) -> None:
        self._stream_key = self._stream_key or self._configured[0]
        self._streamed[resource["urn"]] = self._submit_analyze(_analyze_request(resource, seen))

    def _take_streamed(self) -> dict:
        """The answers already in flight for this configuration (queued ones are sent now)."""
        lock = getattr(self, "_stream_lock", None)
        if lock is None:
            return {}
        with lock:
            for resource, seen in self._stream_queue:
                self._send_streamed(resource, seen)
            streamed, key = self._streamed, self._stream_key
            self._stream_lock, self._streamed, self._stream_queue, self._stream_key = None, {}, [], None
        return streamed if key == (self._configured or (None,))[0] else {}

    def _submit_analyze(self, request: analyzer_pb2.AnalyzeRequest) -> Future:
        if self._analyze_window is None:
            self._analyze_window = CallWindow(self._stub.Analyze, self.max_analyze_in_flight)
        return self._analyze_window.submit(request)

    def analyze_resources(self, resources: list[dict]) -> tuple[list[dict], list[dict]]:
        """Analyze each custom resource (already configured); (violations, notApplicable)."""
        by_urn = {r["urn"]: r for r in resources}
        self.start()
        streamed = self._take_streamed()
        # Requests overlap, as the CLI analyzes resources while it plans them: the pack works on some while this
        # process encodes the next (a window keeps the pack's queue short). Results are read back in plan order.
        pending = [
            (
                resource["urn"],
                streamed.get(resource["urn"]) or self._submit_analyze(_analyze_request(resource, by_urn)),
            )
            for resource in resources
            if resource.get("custom", True)
        ]
        violations, not_applicable = [], []
        for urn, future in pending:
            try:
                response = future.result()
            except grpc.RpcError as err:
                raise PolicyPackError(f"Analyze failed: {err.code().name}: {err.details()}") from err
            violations += [_violation(d, urn) for d in response.diagnostics]
            not_applicable += [_not_applicable(n, urn) for n in response.not_applicable]
        return violations, not_applicable

    def analyze_stack(self, resources: list[dict]) -> tuple[list[dict], list[dict]]:
        """One AnalyzeStack over the custom resources (already configured); (violations, notApplicable)."""
        by_urn = {r["urn"]: r for r in resources}
        custom = [_stack_resource(r, by_urn) for r in resources if r.get("custom", True)]
        response = self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=custom))
        return (
            [_violation(d, "") for d in response.diagnostics],
            [_not_applicable(n, "") for n in response.not_applicable],
        )

    def run(self, resources: list[dict], config: pathlib.Path | dict | None = None) -> dict:
        """Configure, Analyze every custom resource, AnalyzeStack once; returns the report dict."""
        self._await_warm_up()
        self.configure(config)
        violations, not_applicable = self.analyze_resources(resources)
        stack_violations, stack_not_applicable = self.analyze_stack(resources)
        report = {
            "pack": self.info.name,
            "version": self.version,
            "policies": len(self.info.policies),
            "violations": violations + stack_violations,
        }
        if not_applicable or stack_not_applicable:
            report["notApplicable"] = not_applicable + stack_not_applicable
        return report


def _config_key(config: pathlib.Path | dict | None) -> str:
    """Identifies a config: file path and modification time, or the dict's JSON."""
    if isinstance(config, (str, pathlib.Path)):
        path = pathlib.Path(config).resolve()
        return f"file:{path}:{path.stat().st_mtime_ns}"
    return "dict:" + json.dumps(config, sort_keys=True)


def _violation(diagnostic: Any, default_urn: str) -> dict:
    return {
        "policy": diagnostic.policyName,
        "enforcementLevel": _FROM_PROTO.get(diagnostic.enforcementLevel, "advisory"),
        "urn": diagnostic.urn or default_urn,
        "message": diagnostic.message,
    }


def _not_applicable(entry: Any, urn: str) -> dict:
    return {"policy": entry.policy_name, "urn": urn, "reason": entry.reason}


# ---------------------------------------------------------------------------------------------
# One-shot API and formatting
# ---------------------------------------------------------------------------------------------


def run_policy_pack(
    resources: list[dict],
    stack: str,
    project: str,
    config_file: pathlib.Path | None,
    pack_dir: pathlib.Path = DEFAULT_PACK_DIR,
) -> dict:
    """Start the pack, analyse the plan's resources with `config_file`, stop the pack."""
    with PolicyPackProcess(pack_dir, stack=stack, project=project) as pack:
        return pack.run(resources, config_file)


def mandatory_violations(report: dict) -> list[dict]:
    return [v for v in report["violations"] if v["enforcementLevel"] == "mandatory"]


def format_violations(report: dict, pack_label: str = "local: policies") -> str:
    """The policy section of `pulumi preview` output for this report."""
    violations = report["violations"]
    mark = "❌" if mandatory_violations(report) else ("⚠️" if violations else "✅")
    lines = ["Policies:", f"    {mark} {report['pack']}@v{report['version']} ({pack_label})"]
    order = {"mandatory": 0, "remediate": 1, "advisory": 2}
    for v in sorted(violations, key=lambda v: (order.get(v["enforcementLevel"], 3), v["policy"], v["urn"])):
        target = f"  ({v['urn']})" if v["urn"] else ""
        lines.append(f"        - [{v['enforcementLevel']}]  {v['policy']}{target}")
        lines.extend(f"          {text}" for text in v["message"].splitlines())
    return "\n".join(lines)

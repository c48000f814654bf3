"""Run the Pulumi program under the SDK's mock engine and capture every registration."""

import asyncio
import json
import logging
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import SnowplowMocks
from stack_config import Deployment, parse
from stack_config.load import _decode as decode_config_value  # the program's own decoding of config strings
from stack_config.regions import resolve_region
from stack_config.secrecy import UNDECRYPTED

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
MASK = "[secret]"


def mask_secrets(value: Any, reveal: bool = False) -> Any:
    """Replace engine secret envelopes with a mask (or, with `reveal`, with the value inside), recursively."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return mask_secrets(value.get("value"), reveal) if reveal else MASK
        return {k: mask_secrets(v, reveal) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, reveal) for v in value]
    return value


class CapturingMonitor(runtime_mocks.MockMonitor):
    """A mock monitor that records each RegisterResource request as a plan entry (and hands it to `on_register`)."""

    def __init__(self, mocks: pulumi.runtime.Mocks, on_register: Callable[[dict], None] | None = None):
        super().__init__(mocks)
        self.on_register = on_register
        self.registrations: list[dict[str, Any]] = []
        # Unmasked inputs, for writing rendered files offline (where no secret is ever decrypted).
        self.revealed_inputs: dict[str, dict[str, Any]] = {}
        # What each component registers as its outputs (register_outputs), as the console shows them.
        self.component_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        inputs = json_format.MessageToDict(request.object)
        self.revealed_inputs[response.urn] = mask_secrets(inputs, reveal=True)
        self.registrations.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "parent": request.parent or None,
                "inputs": mask_secrets(inputs),
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "dependencies": sorted(request.dependencies),
                "propertyDependencies": {k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())},
            }
        )
        if self.on_register is not None:
            self.on_register(self.registrations[-1])
        return response

    def RegisterResourceOutputs(self, request):
        self.component_outputs[request.urn] = mask_secrets(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)


@dataclass
class StackFile:
    """A `Pulumi.<stack>.yaml` turned into the flat string map the engine hands a program."""

    path: Path
    stack: str
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> "StackFile":
        name = path.name
        if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))):
            raise ValueError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
        stack = name[len("Pulumi.") :].rsplit(".", 1)[0]
        document = yaml.safe_load(path.read_text()) or {}
        entries = document.get("config") or {}
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: `config` must be a mapping of keys to values")
        config, secrets = {}, []
        for key, value in entries.items():
            plain, secure = _without_secure_leaves(value)
            if secure:
                secrets.append(key)
            config[key] = plain if isinstance(plain, str) else json.dumps(plain)
        return cls(path=path, stack=stack, config=config, secret_keys=secrets)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def _without_secure_leaves(value: Any) -> tuple[Any, bool]:
    """Replace each `secure:` leaf (set with --secret, or --secret --path inside a structure) with UNDECRYPTED.

    The CLI decrypts the leaves, passes the whole top-level key as JSON and marks that key secret; offline we
    cannot decrypt, so the program sees a recognisable placeholder in the leaf and the same secret key.
    """
    if _is_secure(value):
        return UNDECRYPTED, True
    if isinstance(value, dict):
        items = {k: _without_secure_leaves(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        items = [_without_secure_leaves(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]


def stack_deployment(stack_file: StackFile, project_dir: Path = PROJECT_DIR) -> Deployment:
    """A stack file's `snowplow:` config and `aws:region`, decoded and validated by the program's own parser.

    For tools that use a stack without running the program (preflight, schema publishing); raises ConfigError.
    Like `stack_config.load()`: the region falls back to AWS_REGION / AWS_DEFAULT_REGION, secret keys stay masked.
    """
    raw = {
        key.removeprefix("snowplow:"): decode_config_value(value)
        for key, value in stack_file.config.items()
        if key.startswith("snowplow:")
    }
    region, source = resolve_region(decode_config_value(stack_file.config.get("aws:region")))
    return parse(
        raw,
        region,
        project_name(project_dir),
        stack_file.stack,
        region_source=source,
        secret_keys=frozenset(k.removeprefix("snowplow:") for k in stack_file.secret_keys if k.startswith("snowplow:")),
    )


def default_mocks(stack_file: StackFile) -> SnowplowMocks:
    """Mocks for a stack file: an adopted VPC's subnets are answered as living in that VPC."""
    region = stack_file.config.get("aws:region") or resolve_region(None)[0] or "us-east-1"
    try:
        existing = json.loads(stack_file.config.get("snowplow:network", "{}")).get("existing") or {}
    except (ValueError, AttributeError):
        existing = {}
    vpc_id = existing.get("vpcId") if isinstance(existing, dict) else None
    return SnowplowMocks(region, default_vpc_id=vpc_id) if isinstance(vpc_id, str) else SnowplowMocks(region)


@dataclass
class ProgramRun:
    project: str
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    revealed_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


class _WarningLog(logging.Handler):
    """Collects what the program logs at warning level or above (`pulumi.log.warn`), as the CLI would show it."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []
        self.logger = logging.getLogger(f"offline.program.{id(self)}")
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_program(
    stack_file: StackFile,
    project_dir: Path = PROJECT_DIR,
    mocks: SnowplowMocks | None = None,
    on_register: Callable[[dict], None] | None = None,
) -> ProgramRun:
    """Execute `__main__.py` against mocks; raises what the program raises."""
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    return run_function(
        stack_file,
        lambda: runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__"),
        project_name(project_dir),
        mocks,
        on_register,
    )


def run_function(
    stack_file: StackFile,
    program: Callable[[], Any],
    project: str,
    mocks: SnowplowMocks | None = None,
    on_register: Callable[[dict], None] | None = None,
) -> ProgramRun:
    """Run `program` as a Pulumi program of `project` under mocks, capturing every registration."""
    mocks = mocks or default_mocks(stack_file)
    monitor = CapturingMonitor(mocks, on_register)
    warnings = _WarningLog()
    asyncio.set_event_loop(asyncio.new_event_loop())
    runtime_settings.set_root_resource(None)
    set_all_config(dict(stack_file.config), stack_file.secret_keys)
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack_file.stack, preview=False, monitor=monitor, logger=warnings.logger
    )
    runtime_settings.SETTINGS.outputs.clear()
    _sync_await(run_pulumi_func(program))
    outputs, secret = _resolve_outputs(runtime_settings.get_root_resource().outputs)
    # Registration order depends on the event loop; a sorted plan diffs cleanly between runs.
    resources = sorted(monitor.registrations, key=lambda r: (r["parent"] is not None, r["urn"]))
    return ProgramRun(
        project,
        stack_file.stack,
        resources,
        outputs,
        secret,
        monitor.revealed_inputs,
        warnings.messages,
        monitor.component_outputs,
    )


def _resolve_outputs(exports: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    values, secret = {}, set()

    async def resolve():
        for key, value in exports.items():
            output = pulumi.Output.from_input(value)
            values[key] = await output.future()
            if await output.is_secret():
                secret.add(key)

    _sync_await(resolve())
    return values, secret

"""Run the Pulumi program under the SDK's mock engine and capture every registration."""

import asyncio
import json
import runpy
import sys
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

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
MASK = "[secret]"


def mask_secrets(value: Any) -> Any:
    """Replace engine secret envelopes with a mask, recursively."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return MASK
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


class CapturingMonitor(runtime_mocks.MockMonitor):
    """A mock monitor that records each RegisterResource request as a plan entry."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[dict[str, Any]] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.registrations.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "parent": request.parent or None,
                "inputs": mask_secrets(json_format.MessageToDict(request.object)),
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "dependencies": sorted(request.dependencies),
                "propertyDependencies": {k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())},
            }
        )
        return response


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
            if isinstance(value, dict) and set(value) == {"secure"}:
                config[key] = "[secret: not decryptable offline]"
                secrets.append(key)
            elif isinstance(value, str):
                config[key] = value
            else:
                config[key] = json.dumps(value)
        return cls(path=path, stack=stack, config=config, secret_keys=secrets)


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]


def default_mocks(stack_file: StackFile) -> SnowplowMocks:
    """Mocks for a stack file: an adopted VPC's subnets are answered as living in that VPC."""
    region = stack_file.config.get("aws:region", "us-east-1")
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
    mocks: SnowplowMocks


def run_program(
    stack_file: StackFile,
    project_dir: Path = PROJECT_DIR,
    mocks: SnowplowMocks | None = None,
) -> ProgramRun:
    """Execute `__main__.py` against mocks; raises what the program raises."""
    project = project_name(project_dir)
    mocks = mocks or default_mocks(stack_file)
    monitor = CapturingMonitor(mocks)
    asyncio.set_event_loop(asyncio.new_event_loop())
    runtime_settings.set_root_resource(None)
    set_all_config(dict(stack_file.config), stack_file.secret_keys)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack_file.stack, preview=False, monitor=monitor)
    runtime_settings.SETTINGS.outputs.clear()

    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")))
    outputs, secret = _resolve_outputs(runtime_settings.get_root_resource().outputs)
    # Registration order depends on the event loop; a sorted plan diffs cleanly between runs.
    resources = sorted(monitor.registrations, key=lambda r: (r["parent"] is not None, r["urn"]))
    return ProgramRun(project, stack_file.stack, resources, outputs, secret, mocks)


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

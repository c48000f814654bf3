"""The Pulumi SDK's floor for a plan: a bare program that registers the same resources (the same provider classes,
names, parents, inputs, protect) under the same mocks, with none of our code: what any program declaring this
plan pays for the SDK, the provider SDK and the mock engine.

Run: .venv/bin/python -m bench.floor PLAN.json [REGION]   (PLAN.json from `make preview JSON=...`)
"""

import asyncio
import importlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pulumi
from pulumi._types import input_type_py_to_pulumi_names
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import SnowplowMocks

MISSING = re.compile(r"Missing required property '(\w+)'")
PACKAGES = {"aws": "pulumi_aws", "random": "pulumi_random"}


def provider_module(type_token: str) -> str | None:
    """`aws:s3/bucketV2:BucketV2` -> `pulumi_aws.s3`; `random:index/randomPassword:...` -> `pulumi_random`."""
    package, _, rest = type_token.partition(":")
    if package not in PACKAGES:
        return None
    module = rest.split("/", 1)[0].split(":", 1)[0]
    return PACKAGES[package] if module == "index" else f"{PACKAGES[package]}.{module}"


def provider_class(type_token: str) -> type | None:
    """The provider SDK's class for a type token, e.g. `pulumi_aws.s3.BucketV2`."""
    module = provider_module(type_token)
    return getattr(importlib.import_module(module), type_token.rsplit(":", 1)[1], None) if module else None


def keyword_arguments(cls: type, inputs: dict[str, Any]) -> dict[str, Any]:
    """The class's keyword arguments for wire-named inputs (nested values keep their wire names)."""
    args_class = getattr(sys.modules[cls.__module__], f"{cls.__name__}Args", None)
    names = input_type_py_to_pulumi_names(args_class) if args_class else {}
    wire_to_py = {wire: py for py, wire in names.items()}
    return {wire_to_py[k]: v for k, v in inputs.items() if k in wire_to_py}


def construct(cls: type, name: str, opts: pulumi.ResourceOptions, kwargs: dict[str, Any]) -> pulumi.Resource:
    """Instantiate like a program would; a required input the plan lacks (an output of another resource that
    was unknown when recorded) gets a placeholder."""
    while True:
        try:
            return cls(name, opts=opts, **kwargs)
        except TypeError as err:
            missing = MISSING.fullmatch(str(err))
            if not missing:
                raise
            kwargs[missing.group(1)] = "floor-placeholder"


def depth(resource: dict, by_urn: dict[str, dict]) -> int:
    level = 0
    while resource.get("parent") in by_urn:
        resource, level = by_urn[resource["parent"]], level + 1
    return level


def register(resources: list[dict]) -> None:
    """Register every plan entry (the stack itself excepted) as a bare resource of the same type."""
    by_urn = {r["urn"]: r for r in resources}
    created: dict[str, pulumi.Resource] = {}
    for entry in sorted(resources, key=lambda r: depth(r, by_urn)):
        if entry["type"] == "pulumi:pulumi:Stack":
            continue
        opts = pulumi.ResourceOptions(parent=created.get(entry.get("parent")), protect=entry.get("protect") or None)
        cls = provider_class(entry["type"]) if entry["custom"] else None
        if cls is not None:
            resource = construct(cls, entry["name"], opts, keyword_arguments(cls, entry["inputs"]))
        elif entry["custom"]:
            resource = pulumi.CustomResource(entry["type"], entry["name"], dict(entry["inputs"]), opts)
        else:
            resource = pulumi.ComponentResource(entry["type"], entry["name"], None, opts)
        created[entry["urn"]] = resource


def run_floor(resources: list[dict], region: str, project: str, stack: str) -> list[str]:
    """Register `resources` under SnowplowMocks; returns the type of each registration the engine saw."""
    monitor = runtime_mocks.MockMonitor(SnowplowMocks(region))
    seen = []
    original = monitor.RegisterResource
    monitor.RegisterResource = lambda request: (seen.append(request.type), original(request))[1]
    asyncio.set_event_loop(asyncio.new_event_loop())
    runtime_settings.set_root_resource(None)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    _sync_await(run_pulumi_func(lambda: register(resources)))
    return seen


def main(argv: list[str]) -> int:
    began = time.perf_counter()
    plan: dict[str, Any] = json.loads(Path(argv[0]).read_text())
    region = argv[1] if len(argv) > 1 else "eu-west-1"
    count = len(run_floor(plan["resources"], region, plan["project"], plan["stack"]))
    print(f"floor: {count} registrations ({len(plan['resources'])} in the plan) in {time.perf_counter() - began:.2f}s")
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)  # the same fast exit as offline.preview: the ratio compares work, not interpreter teardown

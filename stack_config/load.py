"""The only reader of Pulumi config: validates it and returns typed settings."""

import json
import re
import typing
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from stack_config.model import StackConfig, consistency_problems

NAMESPACE = "snowplow"
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
# Physical names are `<project>-<stack>-<thing>`; the longest, `<prefix>-app-config-<account id>`,
# must fit S3's 63 lowercase characters.
MAX_PREFIX = 63 - len("-app-config-") - 12
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; raised before any resource is registered."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Deployment:
    """Validated settings for one stack, handed to components as plain values."""

    project: str
    stack: str
    region: str
    config: StackConfig

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"


def _decode(value: Any) -> Any:
    """Config values reach the program as strings; structured YAML arrives as JSON text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def raw_namespace(namespace: str = NAMESPACE) -> dict[str, Any]:
    """Every `<namespace>:<key>` the engine passed in, decoded."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = namespace + ":"
    return {k[len(prefix) :]: _decode(runtime_config.get_config(k)) for k in sorted(keys) if k.startswith(prefix)}


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated/Union wrappers down to the first concrete type."""
    while typing.get_origin(annotation) in (typing.Union, typing.Annotated) or (
        typing.get_origin(annotation) is not None and type(None) in typing.get_args(annotation)
    ):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _model_at(model: type, path: tuple) -> type | None:
    """The model class reached by following a validation-error path of aliases, list indexes and dict keys."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (list, dict):
            current = typing.get_args(current)[-1]  # this part is an index or a key
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for f in current.model_fields.values() if f.alias == part), None)
        if field is None:
            return None
        current = field.annotation
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _key(namespace: str, loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return f"{namespace}:{path}" if path else namespace


def describe(error: ValidationError, namespace: str = NAMESPACE, root: type = StackConfig) -> list[str]:
    """One line per problem: full key, the offending value, and what is allowed."""
    problems = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key = _key(namespace, loc)
        if err["type"] == "extra_forbidden":
            parent = _model_at(root, loc[:-1])
            allowed = ", ".join(f.alias for f in parent.model_fields.values()) if parent else "none"
            problems.append(f"{key}: unknown key (value {json.dumps(err['input'])}); allowed keys here: {allowed}")
        elif err["type"] == "missing":
            problems.append(f"{key}: required but not set")
        else:
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message} (got {json.dumps(err['input'], default=str)})")
    return problems


def parse(raw: dict[str, Any], region: Any, project: str, stack: str) -> Deployment:
    """Validate decoded config; raise ConfigError naming every bad key."""
    problems = []
    prefix = f"{project}-{stack}"
    if not _NAME.match(prefix) or len(prefix) > MAX_PREFIX:
        problems.append(
            f"stack name {stack!r}: physical names start with {prefix!r}, which must be lowercase letters, digits "
            f"and hyphens, at most {MAX_PREFIX} characters (S3 bucket names); rename the stack"
        )
    if not isinstance(region, str) or not _REGION.match(region):
        problems.append(f"aws:region: must be an AWS region such as eu-west-1 (got {json.dumps(region)})")
    environment = raw.get("environment")
    try:
        config = StackConfig.model_validate(raw, context={"environment": environment})
        problems.extend(consistency_problems(config))
    except ValidationError as err:
        problems.extend(describe(err))
    if problems:
        raise ConfigError(problems)
    return Deployment(project=project, stack=stack, region=region, config=config)


def load() -> Deployment:
    """Read `snowplow:*` and `aws:region` from the running Pulumi program."""
    return parse(
        raw_namespace(),
        _decode(runtime_config.get_config("aws:region")),
        pulumi.get_project(),
        pulumi.get_stack(),
    )

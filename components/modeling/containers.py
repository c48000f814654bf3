"""The modeling task's two containers as data (pure functions, rendered into the task definition).

`fetch-project` (AWS CLI) copies the project archive from the config bucket into a task volume and exits;
`dbt` starts only when that succeeded, checks the archive against the digest it was built with, unpacks it and
runs `dbt deps` and `dbt build`. Warehouse credentials reach dbt as environment variables: plain settings in
`environment`, secrets through the task definition's `secrets`, which ECS resolves from Secrets Manager at start.
The last line the dbt container logs is a marker that the stack's log metric filters count.
"""

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

VOLUME = "project"
MOUNT = "/project"
ARCHIVE = "project.tar.gz"
FETCH_CONTAINER = "fetch-project"
DBT_CONTAINER = "dbt"
PROJECT_DIR = f"{MOUNT}/dbt"
SUCCEEDED_MARKER = "SNOWPLOW_MODELING_SUCCEEDED"
FAILED_MARKER = "SNOWPLOW_MODELING_FAILED"


@dataclass(frozen=True)
class TaskSpec:
    archive_uri: str  # s3://bucket/key of the project archive
    archive_sha256: str
    dbt_image: str
    aws_cli_image: str
    target: str  # the profiles.yml target (the warehouse's name)
    package: str  # "own" or "snowplow_unified": the dbt project reads it as SNOWPLOW_DBT_PACKAGE
    log_group: str
    region: str
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # variable -> Secrets Manager ARN


def dbt_script(spec: TaskSpec) -> str:
    """The dbt container's shell script: verify, unpack, install packages, build; always end with a marker."""
    return "\n".join(
        [
            "set -eu",
            f"trap 'rc=$?; if [ $rc -eq 0 ]; then echo {SUCCEEDED_MARKER}; "
            f'else echo "{FAILED_MARKER} exit=$rc"; fi\' EXIT',
            f"cd {MOUNT}",
            f"echo {shlex.quote(f'{spec.archive_sha256}  {ARCHIVE}')} | sha256sum -c -",
            f"tar -xzf {ARCHIVE}",
            f"cd {PROJECT_DIR}",
            "dbt deps",
            f"dbt build --target {shlex.quote(spec.target)}",
        ]
    )


def _logs(spec: TaskSpec, stream_prefix: str) -> dict:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": spec.log_group,
            "awslogs-region": spec.region,
            "awslogs-stream-prefix": stream_prefix,
        },
    }


def container_definitions(spec: TaskSpec) -> list[dict]:
    mount = [{"sourceVolume": VOLUME, "containerPath": MOUNT, "readOnly": False}]
    environment = {
        **spec.environment,
        "DBT_PROFILES_DIR": PROJECT_DIR,
        "DBT_TARGET": spec.target,
        "SNOWPLOW_DBT_PACKAGE": spec.package,
    }
    return [
        {
            "name": FETCH_CONTAINER,
            "image": spec.aws_cli_image,
            "essential": False,
            "command": ["s3", "cp", spec.archive_uri, f"{MOUNT}/{ARCHIVE}", "--only-show-errors"],
            "mountPoints": mount,
            "privileged": False,
            "logConfiguration": _logs(spec, FETCH_CONTAINER),
        },
        {
            "name": DBT_CONTAINER,
            "image": spec.dbt_image,
            "essential": True,
            "dependsOn": [{"containerName": FETCH_CONTAINER, "condition": "SUCCESS"}],
            "entryPoint": ["/bin/sh", "-c"],
            "command": [dbt_script(spec)],
            "workingDirectory": MOUNT,
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(spec.secrets.items())],
            "mountPoints": mount,
            "privileged": False,
            "logConfiguration": _logs(spec, DBT_CONTAINER),
        },
    ]

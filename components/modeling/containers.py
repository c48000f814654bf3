"""The modeling task's two containers as data (pure functions, rendered into the task definition).

`fetch-project` (AWS CLI) copies the project archive from the config bucket into a task volume and exits;
`dbt` (a plain Python image) starts only when that succeeded, checks the archive against the digest it was built
with, unpacks it, pip installs the tested dbt-core pin with the warehouse's adapter, enters the chosen project
(`dbt/` for our models, `unified/` for snowplow_unified), runs `dbt deps` when the project has packages, and
`dbt build`. Warehouse credentials reach dbt as environment variables: plain settings in `environment`, secrets
through the task definition's `secrets`, which ECS resolves from Secrets Manager at start. The last line the dbt
container logs is a marker that the stack's log metric filters count.
"""

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

VOLUME = "project"
MOUNT = "/project"
ARCHIVE = "project.tar.gz"
FETCH_CONTAINER = "fetch-project"
DBT_CONTAINER = "dbt"
# The archive holds both projects; the pins the tests ran live in the open project.
REQUIREMENTS = f"{MOUNT}/dbt/requirements.txt"
SUCCEEDED_MARKER = "SNOWPLOW_MODELING_SUCCEEDED"
FAILED_MARKER = "SNOWPLOW_MODELING_FAILED"


@dataclass(frozen=True)
class TaskSpec:
    archive_uri: str  # s3://bucket/key of the project archive
    archive_sha256: str
    runtime_image: str  # a Python image; dbt is pip installed at start
    adapter: str  # the warehouse's dbt adapter as a pip requirement (dbt-postgres==1.11.0)
    aws_cli_image: str
    target: str  # the profiles.yml target (the warehouse's name)
    project: str  # the project's folder in the archive: "dbt" (our models) or "unified" (snowplow_unified)
    log_group: str
    region: str
    run_deps: bool = False  # the project has packages.yml: `dbt deps` downloads them before the build
    dbt_vars: Mapping[str, object] = field(default_factory=dict)  # dbt build --vars
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # variable -> Secrets Manager ARN

    @property
    def project_dir(self) -> str:
        return f"{MOUNT}/{self.project}"


def dbt_build_command(spec: TaskSpec) -> str:
    command = f"dbt build --target {shlex.quote(spec.target)}"
    if spec.dbt_vars:
        command += f" --vars {shlex.quote(json.dumps(dict(spec.dbt_vars), sort_keys=True))}"
    return command


def dbt_script(spec: TaskSpec) -> str:
    """The dbt container's shell script: verify, unpack, install dbt, (deps), build; always end with a marker."""
    return "\n".join(
        [
            "set -eu",
            f"trap 'rc=$?; if [ $rc -eq 0 ]; then echo {SUCCEEDED_MARKER}; "
            f'else echo "{FAILED_MARKER} exit=$rc"; fi\' EXIT',
            f"cd {MOUNT}",
            f"echo {shlex.quote(f'{spec.archive_sha256}  {ARCHIVE}')} | sha256sum -c -",
            f"tar -xzf {ARCHIVE}",
            f"echo {shlex.quote(f'Installing dbt-core (pinned in {REQUIREMENTS}) and {spec.adapter}')}",
            "pip install --no-cache-dir --progress-bar off --disable-pip-version-check --root-user-action ignore "
            f"--constraint {REQUIREMENTS} dbt-core {shlex.quote(spec.adapter)}",
            f"cd {spec.project_dir}",
            "dbt --version",
            *(["dbt deps"] if spec.run_deps else []),
            dbt_build_command(spec),
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
        "DBT_PROFILES_DIR": spec.project_dir,
        "PYTHONUNBUFFERED": "1",  # dbt's and pip's lines reach the log as they happen
        "DBT_USE_COLORS": "false",  # no terminal colour codes in CloudWatch
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
            "image": spec.runtime_image,
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

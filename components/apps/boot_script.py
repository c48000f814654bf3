"""The instance bootstrap (EC2 user data): fetch config from S3, resolve secrets, run the app's container.

It carries no configuration values and no secrets, only where to fetch them from.
"""

import shlex
from dataclasses import dataclass, field

CONFIG_DIR = "/opt/snowplow/config"
CONTAINER_CONFIG_DIR = "/snowplow/config"
SECRET_TOKEN_PREFIX = "{{resolve:secretsmanager:"
OS_RESERVE_MIB = 384

# Replaces every {{resolve:secretsmanager:<arn>}} in the config files with the secret's value,
# JSON-escaped so it stays valid inside the JSON/HOCON string it sits in.
_RESOLVE_SECRETS = r"""
import json, pathlib, re, subprocess, sys
token = re.compile(r"\{\{resolve:secretsmanager:([^}]+)\}\}")
cache = {}
def value(arn):
    if arn not in cache:
        out = subprocess.run(["aws", "secretsmanager", "get-secret-value", "--secret-id", arn,
                              "--query", "SecretString", "--output", "text"],
                             check=True, capture_output=True, text=True).stdout.rstrip("\n")
        cache[arn] = json.dumps(out)[1:-1]
    return cache[arn]
for path in pathlib.Path(sys.argv[1]).rglob("*"):
    if path.is_file():
        text = path.read_text()
        if token.search(text):
            path.write_text(token.sub(lambda m: value(m.group(1)), text))
"""


def container_memory_mib(instance_mib: int) -> int:
    """80% of the instance's memory for the container, unless that leaves the OS under 384 MiB."""
    share = int(instance_mib * 0.8)
    return share if instance_mib - share >= OS_RESERVE_MIB else instance_mib - OS_RESERVE_MIB


@dataclass(frozen=True)
class BootSpec:
    app: str
    region: str
    config_bucket: str
    config_prefix: str
    image: str
    memory_mib: int
    log_group: str
    app_args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    resolve_secrets: bool = False


def render_boot_script(spec: BootSpec) -> str:
    env = {
        "ACCEPT_LIMITED_USE_LICENSE": "yes",
        "AWS_REGION": spec.region,
        "JDK_JAVA_OPTIONS": "-XX:InitialRAMPercentage=75 -XX:MaxRAMPercentage=75",
        **spec.env,
    }
    docker = [
        f"docker run --detach --name {spec.app} --restart always --network host",
        f"--memory={spec.memory_mib}m",
        "--log-driver awslogs",
        f"--log-opt awslogs-region={spec.region}",
        f"--log-opt awslogs-group={shlex.quote(spec.log_group)}",
        '--log-opt awslogs-stream="$INSTANCE_ID"',
        f"--volume {CONFIG_DIR}:{CONTAINER_CONFIG_DIR}:ro",
        *(f"--env {shlex.quote(f'{k}={v}')}" for k, v in env.items()),
        shlex.quote(spec.image),
        *(shlex.quote(a) for a in spec.app_args),
    ]
    source = f"s3://{spec.config_bucket}/{spec.config_prefix}/"
    lines = [
        "#!/bin/bash",
        f"# Snowplow {spec.app}: bootstrap only; the app's config is fetched from S3 with the instance role.",
        "set -euo pipefail",
        f"export AWS_DEFAULT_REGION={spec.region}",
        "dnf install -y docker",
        "systemctl enable --now docker",
        'IMDS_TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")',
        'INSTANCE_ID=$(curl -sf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)',
        f"mkdir -p {CONFIG_DIR}",
        f"aws s3 cp --recursive --only-show-errors --region {spec.region} {shlex.quote(source)} {CONFIG_DIR}/",
    ]
    if spec.resolve_secrets:
        lines += [f"python3 - {CONFIG_DIR} <<'RESOLVE_SECRETS'{_RESOLVE_SECRETS}RESOLVE_SECRETS"]
    lines += [
        f"chmod -R a+rX {CONFIG_DIR}",
        " \\\n  ".join(docker),
        "",
    ]
    return "\n".join(lines)

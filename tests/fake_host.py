"""Stand-ins for the commands the boot script calls on an instance (aws, docker, curl, dnf, systemctl, ...).

Run as `fake_host.py <command> <args...>` through small wrappers on PATH. Every call is appended to
`$FAKE_HOST/calls.jsonl`; behaviour is steered by files under `$FAKE_HOST` (see `FakeHost` in the tests).
"""

import json
import os
import shutil
import sys
import time
from pathlib import Path

STATE = Path(os.environ["FAKE_HOST"])
INSTANCE_ID = "i-0123456789abcdef0"


def flag(name: str) -> str | None:
    path = STATE / name
    return path.read_text().strip() if path.exists() else None


def bump(name: str) -> int:
    count = int(flag(name) or 0) + 1
    (STATE / name).write_text(str(count))
    return count


def hang(name: str) -> None:
    """A command that never answers (network black hole, wedged daemon): only a timeout ends it."""
    if flag(name):
        time.sleep(120)


def aws(args: list[str]) -> int:
    if args[:2] == ["s3", "cp"]:
        source, destination = [a for a in args[2:] if not a.startswith("--")]
        bump("s3_attempts")
        hang("s3_hangs")
        failures = int(flag("s3_failures") or 0)
        if int(flag("s3_attempts")) <= failures:
            print("fatal error: Could not connect to the endpoint URL", file=sys.stderr)
            return 1
        bucket_path = STATE / "s3" / source.removeprefix("s3://")
        if bucket_path.is_dir():
            shutil.copytree(bucket_path, destination, dirs_exist_ok=True)
        return 0  # like the real CLI: an empty or missing prefix copies nothing and succeeds
    if args[:2] == ["secretsmanager", "get-secret-value"]:
        arn = args[args.index("--secret-id") + 1]
        secrets = json.loads(flag("secrets.json") or "{}")
        if arn not in secrets:
            print(f"An error occurred (AccessDeniedException) when calling GetSecretValue on {arn}", file=sys.stderr)
            return 254
        # A secret created empty (e.g. a key another app writes at its first boot) has no AWSCURRENT yet.
        if bump("secret_lookups") < int(flag("secret_appears_after") or 0):
            print(
                "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: "
                "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
                file=sys.stderr,
            )
            return 254
        print(secrets[arn])
        return 0
    if args[:2] == ["autoscaling", "set-instance-health"]:
        hang("asg_hangs")
        return 255 if flag("asg_fails") else 0
    if args[0] == "logs":
        return 0
    print(f"fake aws: unexpected {args}", file=sys.stderr)
    return 2


def docker(args: list[str]) -> int:
    containers = STATE / "containers"
    containers.mkdir(exist_ok=True)
    if args[0] != "inspect":  # the watchdog test wedges inspect alone
        hang("daemon_hangs")
    if args[0] == "pull":
        return 1 if flag("pull_fails") else 0
    if args[0] == "run" and "--rm" in args:
        hang("pre_start_hangs")
        return int(flag("pre_start_exit") or 0)
    if args[0] == "run":
        name = args[args.index("--name") + 1]
        if (containers / name).exists():
            print(f'docker: Error response from daemon: Conflict. The container name "/{name}" is already in use.')
            return 125
        (containers / name).write_text("true 0")
        print("c0ffee")
        return 0
    if args[0] == "inspect":
        hang("docker_hangs")
        state = containers / args[-1]
        if not state.exists():
            return 1
        running, restarts = state.read_text().split()
        if flag("crash_loop"):
            restarts = str(int(restarts) + 1)
            state.write_text(f"{running} {restarts}")
        print(f"{running} {restarts}")
        return 0
    if args[:2] == ["rm", "-f"]:
        (containers / args[2]).unlink(missing_ok=True)
        return 0
    print(f"fake docker: unexpected {args}", file=sys.stderr)
    return 2


def curl(args: list[str]) -> int:
    url = args[-1]
    if url.endswith("/latest/api/token"):
        print("imds-token", end="")
        return 0
    if url.endswith("/meta-data/instance-id"):
        print(INSTANCE_ID, end="")
        return 0
    print(flag("health_code") or "200", end="")
    return 0


def main() -> int:
    command, args = os.path.basename(sys.argv[1]), sys.argv[2:]
    with open(STATE / "calls.jsonl", "a") as calls:
        calls.write(json.dumps({"cmd": command, "args": args}) + "\n")
    if command == "aws":
        return aws(args)
    if command == "docker":
        return docker(args)
    if command == "curl":
        return curl(args)
    if command == "dnf":
        return 1 if flag("dnf_fails") else 0
    return 0  # systemctl, sleep, chown: recorded only


if __name__ == "__main__":
    sys.exit(main())

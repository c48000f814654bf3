"""The stack outputs the operator tools need, from `pulumi stack output --json` or a file holding that JSON."""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.aws import region_from_arn

REQUIRED = ("collector_url", "stream_names")
STREAM_KEYS = ("raw", "enriched", "bad1")


class OutputsError(Exception):
    """The stack outputs cannot be read or lack what a tool needs; the message says what to do."""


@dataclass(frozen=True)
class StackOutputs:
    collector_url: str
    streams: dict[str, str]  # logical name (raw, enriched, bad1, bad2) -> Kinesis stream name
    lake_bucket: str | None
    region: str | None  # taken from the stack key's ARN; None when the outputs do not tell
    source: str


def from_pulumi(stack: str, pulumi: str = "pulumi", timeout: float = 120) -> dict[str, Any]:
    """Run `pulumi stack output --json --show-secrets -s <stack>`; fail clearly when the CLI is missing or fails.

    `--show-secrets`: outputs derived from config set with `--secret` (e.g. `collector_url` of a secret
    collector domain) are secret, and the tool needs their values, not `[secret]`.
    """
    if shutil.which(pulumi) is None:
        raise OutputsError(
            f"the Pulumi CLI ({pulumi}) is not installed or not on PATH: install it, or pass the outputs as a file, "
            f"e.g. `pulumi stack output --json --show-secrets -s {stack} > outputs.json` elsewhere and then OUTPUTS=outputs.json"
        )
    command = [pulumi, "stack", "output", "--json", "--show-secrets", "-s", stack]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise OutputsError(f"`{' '.join(command)}` did not answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise OutputsError(f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return _parse(done.stdout, " ".join(command))


def from_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as err:
        raise OutputsError(f"cannot read outputs file {path}: {err.strerror}") from None
    return _parse(text, str(path))


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as err:
        raise OutputsError(f"{source}: not JSON ({err}); expected the output of `pulumi stack output --json`") from None
    if not isinstance(document, dict):
        raise OutputsError(f"{source}: expected a JSON object of stack outputs")
    return document


def parse_outputs(document: dict[str, Any], source: str) -> StackOutputs:
    """Check the outputs carry what the smoke test needs and name anything missing."""
    missing = [key for key in REQUIRED if key not in document]
    if missing:
        raise OutputsError(f"{source}: missing stack output(s) {', '.join(missing)}; is this a snowplow stack?")
    url = document["collector_url"]
    if url == "[secret]":
        raise OutputsError(
            f"{source}: collector_url is a secret output (its collector config was set with --secret); "
            "export the outputs with `pulumi stack output --json --show-secrets`"
        )
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise OutputsError(f"{source}: collector_url must be an http(s) URL (got {json.dumps(url)})")
    streams = document["stream_names"]
    if not isinstance(streams, dict) or any(not isinstance(streams.get(k), str) for k in STREAM_KEYS):
        raise OutputsError(f"{source}: stream_names must map {', '.join(STREAM_KEYS)} to stream names")
    lake = document.get("lake_bucket")
    return StackOutputs(
        collector_url=url.rstrip("/"),
        streams=dict(streams),
        lake_bucket=lake if isinstance(lake, str) and lake != "[secret]" else None,
        region=region_from_arn(document.get("kms_key_arn")),
        source=source,
    )

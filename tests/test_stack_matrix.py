"""Every stack file the project ships or tests previews through the pack with no mandatory violation and only
the advisories listed here, each with its reason.

The matrix is the repo's own `Pulumi.dev.yaml` and `Pulumi.prod.yaml` plus every `tests/stacks/Pulumi.*.yaml`;
a feature that adds config adds a stack file there and is picked up automatically. Each stack is judged with
`policies/config.<snowplow:environment>.json`, as `make preview` does.
"""

import base64
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from offline import preview as preview_cli
from offline.engine import StackFile, run_program
from offline.policy import format_violations
from tests.conftest import ROOT
from tests.plan_snapshots import STACK_FILES as SHIPPED_STACKS
from tests.policy_helpers import PACK_DIR, pack  # noqa: F401  (session fixture)

STACK_FILES = list(SHIPPED_STACKS.values())


@dataclass(frozen=True)
class Finding:
    """A violation the matrix expects: `policy` on the resource named `resource`, in stacks where `applies`."""

    policy: str
    resource: str
    why: str
    applies: object = staticmethod(lambda config: True)


def _no_tls(config: dict) -> bool:
    collector = config.get("snowplow:collector") or {}
    return not (collector.get("hostedZoneId") or collector.get("certificateArn"))


def _no_access_logs(config: dict) -> bool:
    collector = config.get("snowplow:collector") or {}
    return not collector.get("accessLogs", config.get("snowplow:environment") == "prod")


APPS = ("collector-service", "enrich-service", "s3-loader-enriched-service", "s3-loader-bad-service")

ADVISORIES = [
    Finding(
        "lb-listener-require-https-redirect",
        "collector-http",
        "Without collector.domain + hostedZoneId/certificateArn there is no certificate, so the collector serves "
        "HTTP on port 80; the rule is advisory in dev for exactly this and mandatory in prod.",
        staticmethod(_no_tls),
    ),
    Finding(
        "lb-load-balancer-require-access-logs",
        "collector-alb",
        "collector.accessLogs defaults to false in dev (the log bucket costs money and dev traffic is synthetic); "
        "prod defaults to true and the rule is mandatory there.",
        staticmethod(_no_access_logs),
    ),
]


@cache
def preview(path: Path):
    """(stack config, plan resources, policy config file) of one stack file; the policy config is its environment's."""
    config = (yaml.safe_load(path.read_text()) or {})["config"]
    resources = run_program(StackFile.read(path)).resources
    policy_config = PACK_DIR / f"config.{config['snowplow:environment']}.json"
    return config, resources, policy_config


@cache
def judged(pack, path: Path):
    """(stack config, plan resources, policy report) of one stack file."""
    config, resources, policy_config = preview(path)
    return config, resources, pack.run(resources, policy_config)


def expected(findings: list, config: dict, resources: list) -> set:
    names = {r["name"] for r in resources}
    return {(f.policy, f.resource) for f in findings if f.resource in names and f.applies(config)}


def found(report: dict, level: str) -> set:
    return {(v["policy"], v["urn"].rsplit("::", 1)[1]) for v in report["violations"] if v["enforcementLevel"] == level}


def test_matrix_has_the_required_stacks():
    names = {p.name for p in STACK_FILES}
    assert {"Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.prod-all.yaml", "Pulumi.adopted-vpc.yaml"} <= names


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_stack_previews_with_no_mandatory_violation_and_only_listed_advisories(pack, path):
    config, resources, report = judged(pack, path)
    text = format_violations(report)
    assert not [v for v in report["violations"] if "during preview" in v["message"]], text
    assert found(report, "mandatory") == set(), text
    actual, allowed = found(report, "advisory"), expected(ADVISORIES, config, resources)
    assert not actual - allowed, f"advisories not listed in ADVISORIES: {sorted(actual - allowed)}\n{text}"
    assert not allowed - actual, (
        f"listed in ADVISORIES but no longer reported (remove them): {sorted(allowed - actual)}"
    )


def test_every_listed_finding_still_occurs(pack):
    """An advisory no stack produces any more is deleted from the list."""
    reported = set()
    for path in STACK_FILES:
        reported |= found(judged(pack, path)[2], "advisory")
    stale = [f"{f.policy} on {f.resource}" for f in ADVISORIES if (f.policy, f.resource) not in reported]
    assert not stale, f"no stack reports these any more; delete them from ADVISORIES: {stale}"


def test_secret_backed_stack_keeps_its_resolver_and_previews(tmp_path, capsys):
    """prod-all references secrets: the enrich boot script resolves them, and that code is no credential."""
    path = ROOT / "tests" / "stacks" / "Pulumi.prod-all.yaml"
    config, resources, _ = preview(path)
    (template,) = [r for r in resources if r["name"] == "enrich-service-lt"]
    assert "get-secret-value" in base64.b64decode(template["inputs"]["userData"]).decode()
    files = [r["inputs"]["content"] for r in resources if r["type"] == "aws:s3/bucketObjectv2:BucketObjectv2"]
    assert sum("{{resolve:secretsmanager:" in f for f in files) >= 5  # four enrichments and the resolver
    code = preview_cli.main(["--config", str(path)])
    assert code == preview_cli.EXIT_OK, capsys.readouterr().out

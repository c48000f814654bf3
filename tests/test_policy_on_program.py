"""The pack judges what the real program registers: clean stacks pass, a broken program fails."""

import json

import pulumi_aws as aws
import pytest

from offline import preview as preview_cli
from offline.engine import StackFile, run_program
from offline.policy import mandatory_violations
from tests.conftest import ROOT
from tests.policy_helpers import PROD_CONFIG, pack  # noqa: F401


def plan(stack: str):
    return run_program(StackFile.read(ROOT / f"Pulumi.{stack}.yaml")).resources


def test_preview_adds_policy_results_to_the_plan(tmp_path, capsys):
    """The shipped stacks' verdicts are in test_stack_matrix.py; here: the plan carries them, the exit code follows."""
    plan_path = tmp_path / "plan.json"
    code = preview_cli.main(["--stack", "prod", "--json", str(plan_path)])
    policy = json.loads(plan_path.read_text())["policy"]
    assert policy["pack"] == "snowplow-guardrails"
    assert [v for v in policy["violations"] if v["enforcementLevel"] == "mandatory"] == []
    assert code == preview_cli.EXIT_OK
    assert "Policies:" in capsys.readouterr().out


def test_bucket_without_encryption_fails_the_pack(pack, monkeypatch):
    monkeypatch.setattr(aws.s3, "BucketServerSideEncryptionConfiguration", lambda *args, **kwargs: None)
    report = pack.run(plan("prod"), PROD_CONFIG)
    failing = {(v["policy"], v["urn"].rsplit("::", 1)[1]) for v in mandatory_violations(report)}
    assert ("s3-bucket-require-sse-kms", "storage-lake") in failing
    assert ("s3-bucket-require-sse-kms", "storage-app-config") in failing


def test_open_ssh_rule_fails_the_pack_and_the_preview(monkeypatch, tmp_path, capsys):
    real_rule = aws.vpc.SecurityGroupIngressRule

    def with_open_ssh(name, **kwargs):
        if kwargs.get("from_port") == 8080:
            real_rule(
                f"{name}-ssh-from-anywhere",
                **{
                    **kwargs,
                    "from_port": 22,
                    "to_port": 22,
                    "cidr_ipv4": "0.0.0.0/0",
                    "referenced_security_group_id": None,
                },
            )
        return real_rule(name, **kwargs)

    monkeypatch.setattr(aws.vpc, "SecurityGroupIngressRule", with_open_ssh)
    plan_path = tmp_path / "plan.json"
    assert preview_cli.main(["--stack", "dev", "--json", str(plan_path)]) == preview_cli.EXIT_POLICY
    violations = json.loads(plan_path.read_text())["policy"]["violations"]
    assert any(
        v["policy"] == "ec2-security-group-restrict-public-ingress" and v["enforcementLevel"] == "mandatory"
        for v in violations
    )
    assert "[mandatory]  ec2-security-group-restrict-public-ingress" in capsys.readouterr().out


def test_more_enrich_instances_than_shards_fails_the_pack_even_if_config_allowed_it(pack):
    resources = plan("prod")
    (raw,) = [r for r in resources if r["type"] == "aws:kinesis/stream:Stream" and r["name"] == "streams-raw"]
    for resource in resources:
        if resource["type"] == "aws:autoscaling/group:Group" and resource["name"] == "enrich-service-asg":
            resource["inputs"]["maxSize"] = raw["inputs"]["shardCount"] + 1
    report = pack.run(resources, PROD_CONFIG)
    assert "snowplow-kcl-consumer-limit-to-shards" in {v["policy"] for v in mandatory_violations(report)}

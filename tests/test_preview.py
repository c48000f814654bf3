"""The offline preview: tree, outputs and JSON plan for the shipped stacks and any stack file."""

import json
import os
import subprocess
import sys

import pytest

from offline import preview
from tests.conftest import BASE, ROOT, write_stack

PLAN_KEYS = {
    "urn",
    "type",
    "name",
    "custom",
    "parent",
    "inputs",
    "protect",
    "retainOnDelete",
    "dependencies",
    "propertyDependencies",
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_preview_cleanly(stack, tmp_path, capsys):
    plan_path = tmp_path / "plan.json"
    assert preview.main(["--stack", stack, "--json", str(plan_path), "--no-policy"]) == preview.EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith(f"pulumi:pulumi:Stack  snowplow-{stack}\n")
    assert "├─ snowplow:pipeline:Network  network" in out
    assert "aws:kinesis/stream:Stream  streams-raw" in out
    assert "Outputs:" in out and "kms_key_arn" in out

    plan = json.loads(plan_path.read_text())
    assert (plan["project"], plan["stack"]) == ("snowplow", stack)
    assert all(set(r) == PLAN_KEYS for r in plan["resources"])
    urns = {r["urn"] for r in plan["resources"]}
    assert all(r["parent"] in urns for r in plan["resources"] if r["parent"])
    assert plan["outputs"]["stream_names"]["raw"] == f"snowplow-{stack}-raw"


def test_prod_plan_encrypts_every_stream_with_the_rotating_stack_key(tmp_path):
    plan_path = tmp_path / "plan.json"
    assert preview.main(["--stack", "prod", "--json", str(plan_path), "--no-policy"]) == 0
    resources = json.loads(plan_path.read_text())["resources"]
    (key,) = [r for r in resources if r["type"] == "aws:kms/key:Key"]
    streams = [r for r in resources if r["type"] == "aws:kinesis/stream:Stream"]
    assert key["inputs"]["enableKeyRotation"] is True and key["protect"]
    assert len(streams) == 4
    for stream in streams:
        assert stream["inputs"]["encryptionType"] == "KMS"
        assert stream["propertyDependencies"]["kmsKeyId"] == [key["urn"]]
        assert stream["protect"] and stream["retainOnDelete"]


def test_any_stack_file_names_its_stack(tmp_path, capsys):
    stack_file = write_stack(tmp_path, "staging-eu", {**BASE, "snowplow:streams": {"mode": "ON_DEMAND"}})
    assert preview.main(["--config", str(stack_file), "--no-policy"]) == 0
    assert capsys.readouterr().out.startswith("pulumi:pulumi:Stack  snowplow-staging-eu\n")


def test_unknown_key_holding_a_secret_is_rejected_too(tmp_path, capsys):
    stack_file = write_stack(tmp_path, "s", {**BASE, "snowplow:unused": {"secure": "v1:abc"}})
    assert preview.main(["--config", str(stack_file), "--no-policy"]) == preview.EXIT_CONFIG
    assert "snowplow:unused: unknown key" in capsys.readouterr().err


def test_a_file_that_is_not_a_stack_file_is_refused(tmp_path, capsys):
    other = tmp_path / "settings.yaml"
    other.write_text("config: {}\n")
    assert preview.main(["--config", str(other)]) == preview.EXIT_CONFIG
    assert "Pulumi.<stack>.yaml" in capsys.readouterr().err


def test_command_line_entry_point_exit_codes(tmp_path):
    bad = write_stack(tmp_path, "bad", {**BASE, "snowplow:acceptLimitedUseLicense": False})
    run = subprocess.run(
        [sys.executable, "-m", "offline.preview", "--config", str(bad), "--json", str(tmp_path / "p.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "snowplow:acceptLimitedUseLicense" in run.stderr and "limited-use-license-1.1" in run.stderr
    assert run.stdout == ""
    assert not (tmp_path / "p.json").exists()


def test_the_plan_is_identical_from_run_to_run(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        assert preview.main(["--stack", "dev", "--json", str(path), "--no-policy"]) == preview.EXIT_OK
    assert first.read_text() == second.read_text()
    resources = json.loads(first.read_text())["resources"]
    assert resources[0]["type"] == "pulumi:pulumi:Stack"


def make_preview(*variables: str) -> subprocess.CompletedProcess:
    """`make preview` as a user runs it (the venv is built; `-o` keeps make from rebuilding it)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "preview", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
    )


def test_make_preview_names_the_preview_exit_code_it_cannot_return(tmp_path):
    bad = write_stack(tmp_path, "bad", {**BASE, "snowplow:streams": {"shards": {"raw": 0}}})
    run = make_preview(f"CONFIG={bad}")
    assert run.returncode == 2  # make's own code for any failed recipe
    assert "snowplow:streams.shards.raw" in run.stderr
    assert "make preview: offline.preview exited 1 (invalid stack config)" in run.stderr

    strict = tmp_path / "strict.json"  # dev serves plain HTTP: make the HTTPS-redirect rule mandatory
    strict.write_text(json.dumps({"lb-listener-require-https-redirect": {"enforcementLevel": "mandatory"}}))
    run = make_preview("STACK=dev", f"POLICY_CONFIG={strict}")
    assert run.returncode == 2
    assert "[mandatory]  lb-listener-require-https-redirect" in run.stdout
    assert "make preview: offline.preview exited 2 (a mandatory policy violation)" in run.stderr


def test_resources_analysed_as_registered_get_the_batch_verdict(tmp_path):
    """The preview streams each resource to the pack while the program runs; its report is a batch run's."""
    from offline.engine import StackFile, run_program
    from offline.policy import run_policy_pack

    assert preview.main(["--stack", "dev", "--json", str(tmp_path / "plan.json")]) == 0
    streamed = json.loads((tmp_path / "plan.json").read_text())["policy"]["violations"]
    stack = StackFile.read(ROOT / "Pulumi.dev.yaml")
    batch = run_policy_pack(run_program(stack).resources, "dev", "snowplow", preview.PACK_DIR / "config.dev.json")
    assert streamed == batch["violations"]
    assert {v["policy"] for v in streamed} == {
        "lb-listener-require-https-redirect",
        "lb-load-balancer-require-access-logs",
    }

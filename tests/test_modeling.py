"""Scheduled dbt runs: config rules, the Fargate task and its roles, the schedule, and the task's script itself."""

import base64
import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from components.apps.app_versions import AWS_CLI_IMAGE, DBT_IMAGES
from components.modeling.containers import FAILED_MARKER, SUCCEEDED_MARKER, TaskSpec, dbt_script
from components.modeling.project_archive import build_archive
from offline.engine import StackFile, run_program
from stack_config import ConfigError, parse
from tests.conftest import ROOT, of_type

FULL = ROOT / "tests" / "stacks" / "Pulumi.full.yaml"
DEV = {"environment": "dev", "acceptLimitedUseLicense": True}
WITH_POSTGRES = {
    **DEV,
    "iglu": {"server": {"enabled": True, "ingressCidrs": ["198.51.100.0/24"]}},
    "destinations": {"postgres": {"enabled": True}},
}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, "eu-west-1", "snowplow", "t")
    return caught.value.problems


# --- Config -----------------------------------------------------------------------------------


def test_a_schedule_without_a_warehouse_is_an_error_naming_the_keys():
    (problem,) = problems({**DEV, "modeling": {"enabled": True}})
    assert problem.startswith("snowplow:modeling.enabled:")
    assert "snowplow:destinations.postgres.enabled" in problem


def test_schedule_expressions_are_checked():
    for bad in ("cron(0 3 * * * *)", "rate(2 hour)", "rate(0 minutes)", "at(2026-01-01T00:00:00)", "daily"):
        (problem,) = problems({**WITH_POSTGRES, "modeling": {"enabled": True, "schedule": bad}})
        assert problem.startswith("snowplow:modeling.schedule:") and "EventBridge Scheduler" in problem, bad
    for good in ("cron(0/30 * ? * MON-FRI *)", "rate(1 hour)", "rate(6 hours)", "cron(15 3 * * ? *)"):
        cfg = parse({**WITH_POSTGRES, "modeling": {"enabled": True, "schedule": good}}, "eu-west-1", "s", "t")
        assert cfg.config.modeling.schedule == good


def test_fargate_size_and_timezone_are_checked():
    (problem,) = problems({**WITH_POSTGRES, "modeling": {"enabled": True, "cpu": 512, "memory": 512}})
    assert problem.startswith("snowplow:modeling.memory:") and "1024, 2048, 3072, 4096" in problem
    (problem,) = problems({**WITH_POSTGRES, "modeling": {"enabled": True, "timezone": "Mars/Olympus"}})
    assert problem.startswith("snowplow:modeling.timezone:")


def test_the_named_warehouse_must_be_one_the_stack_loads():
    (problem,) = problems({**DEV, "modeling": {"enabled": True, "warehouse": "postgres"}})
    assert problem.startswith("snowplow:modeling.warehouse:") and "destinations.postgres.enabled: true" in problem
    (problem,) = problems({**WITH_POSTGRES, "modeling": {"enabled": True, "warehouse": "bigquery"}})
    assert problem.startswith("snowplow:modeling.warehouse:") and "postgres" in problem


# --- The task and its roles in a whole stack ---------------------------------------------------


@pytest.fixture(scope="module")
def full():
    return run_program(StackFile.read(FULL))


def named(run, type_token: str, name: str) -> dict:
    (found,) = [r for r in of_type(run, type_token) if r["name"] == name]
    return found


def policy(run, name: str) -> list[dict]:
    return json.loads(named(run, "aws:iam/rolePolicy:RolePolicy", name)["inputs"]["policy"])["Statement"]


def containers(run) -> dict[str, dict]:
    task = named(run, "aws:ecs/taskDefinition:TaskDefinition", "modeling-task")
    return {c["name"]: c for c in json.loads(task["inputs"]["containerDefinitions"])}


def test_fargate_task_fetches_the_project_then_runs_the_pinned_dbt_image(full):
    task = named(full, "aws:ecs/taskDefinition:TaskDefinition", "modeling-task")["inputs"]
    assert (task["requiresCompatibilities"], task["networkMode"], task["cpu"], task["memory"]) == (
        ["FARGATE"],
        "awsvpc",
        "1024",
        "2048",
    )
    fetch, dbt = containers(full)["fetch-project"], containers(full)["dbt"]
    assert fetch["image"] == AWS_CLI_IMAGE and fetch["essential"] is False
    assert dbt["image"] == DBT_IMAGES["postgres"] and ":" in dbt["image"] and not dbt["image"].endswith(":latest")
    assert dbt["dependsOn"] == [{"containerName": "fetch-project", "condition": "SUCCESS"}]
    assert fetch["mountPoints"][0]["sourceVolume"] == dbt["mountPoints"][0]["sourceVolume"] == "project"
    assert task["volumes"] == [{"name": "project"}]
    for container in (fetch, dbt):
        assert container["logConfiguration"]["options"]["awslogs-group"] == "/aws/ecs/snowplow-full-modeling"
        assert container.get("privileged") is False


def test_the_archive_the_task_fetches_is_the_one_uploaded_and_holds_the_project(full):
    (archive,) = [
        o
        for o in of_type(full, "aws:s3/bucketObjectv2:BucketObjectv2")
        if o["inputs"]["metadata"]["snowplow-app"] == "modeling"
    ]
    inputs = archive["inputs"]
    content = base64.b64decode(inputs["contentBase64"])
    assert (inputs["serverSideEncryption"], inputs["kmsKeyId"]) == ("aws:kms", full.outputs["kms_key_arn"])
    uri = f"s3://{inputs['bucket']}/{inputs['key']}"
    assert containers(full)["fetch-project"]["command"][:3] == ["s3", "cp", uri]
    expected = build_archive(ROOT / "modeling" / "dbt")
    assert content == expected.content and inputs["key"] == f"modeling/{expected.digest}/project.tar.gz"
    assert expected.sha256 in containers(full)["dbt"]["command"][0]  # checked before unpacking
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(content))) as tar:
        assert "dbt/dbt_project.yml" in tar.getnames() and "dbt/profiles.yml" in tar.getnames()


def test_warehouse_credentials_come_from_secrets_manager_never_from_the_environment(full):
    dbt = containers(full)["dbt"]
    login = full.outputs["postgres_destination"]
    assert dbt["secrets"] == [{"name": "DBT_PASSWORD", "valueFrom": login["passwordSecretArn"]}]
    environment = {e["name"]: e["value"] for e in dbt["environment"]}
    assert {k: environment[k] for k in ("DBT_HOST", "DBT_PORT", "DBT_USER", "DBT_DATABASE")} == {
        "DBT_HOST": login["host"],
        "DBT_PORT": "5432",
        "DBT_USER": login["username"],
        "DBT_DATABASE": login["database"],
    }
    assert environment["DBT_TARGET"] == "postgres" and environment["SNOWPLOW_DBT_PACKAGE"] == "own"
    assert "DBT_PASSWORD" not in environment


def test_each_role_holds_exactly_what_it_uses(full):
    task_arn = named(full, "aws:ecs/taskDefinition:TaskDefinition", "modeling-task")["inputs"]
    (schedule,) = of_type(full, "aws:scheduler/schedule:Schedule")
    target = schedule["inputs"]["target"]
    run_task, pass_role = policy(full, "modeling-scheduler-policy")
    assert run_task["Action"] == "ecs:RunTask" and run_task["Resource"] == target["ecsParameters"]["taskDefinitionArn"]
    assert run_task["Condition"] == {"ArnEquals": {"ecs:cluster": target["arn"]}}
    assert pass_role["Action"] == "iam:PassRole" and sorted(pass_role["Resource"]) == [
        "arn:aws:iam::123456789012:role/snowplow-full-modeling-execution",
        "arn:aws:iam::123456789012:role/snowplow-full-modeling-task",
    ]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}

    read_archive, archive_key = policy(full, "modeling-task-policy")
    assert read_archive["Action"] == "s3:GetObject" and read_archive["Resource"].endswith("/project.tar.gz")
    assert archive_key["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}

    logs, secrets, secret_key = policy(full, "modeling-execution-policy")
    assert logs["Resource"][0] == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/ecs/snowplow-full-modeling"
    assert secrets["Resource"] == [full.outputs["postgres_destination"]["passwordSecretArn"]]
    assert secret_key["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.eu-west-1.amazonaws.com"
    assert task_arn["executionRoleArn"].endswith("/snowplow-full-modeling-execution")
    assert task_arn["taskRoleArn"].endswith("/snowplow-full-modeling-task")


def test_schedule_runs_the_task_in_the_private_subnets_with_the_configured_expression(full):
    (schedule,) = of_type(full, "aws:scheduler/schedule:Schedule")
    inputs = schedule["inputs"]
    assert (inputs["scheduleExpression"], inputs["scheduleExpressionTimezone"]) == (
        "cron(30 4 * * ? *)",
        "Europe/Berlin",
    )
    network = inputs["target"]["ecsParameters"]["networkConfiguration"]
    assert network["assignPublicIp"] is False and network["subnets"] == full.outputs["private_subnet_ids"]
    (trust,) = json.loads(named(full, "aws:iam/role:Role", "modeling-scheduler-role")["inputs"]["assumeRolePolicy"])[
        "Statement"
    ]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    # Scheduler names the schedule group (which holds only this schedule) as the source when it assumes the role.
    group = f"arn:aws:scheduler:eu-west-1:123456789012:schedule-group/{inputs['groupName']}"
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnEquals": {"aws:SourceArn": group},
    }


def test_the_task_reaches_the_events_database_and_logs_with_the_stack_key(full):
    (schedule,) = of_type(full, "aws:scheduler/schedule:Schedule")
    (group,) = schedule["inputs"]["target"]["ecsParameters"]["networkConfiguration"]["securityGroups"]
    ingress = named(full, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "events-db-from-modeling")
    assert ingress["inputs"]["fromPort"] == 5432 and ingress["inputs"]["referencedSecurityGroupId"] == group
    egress = named(full, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "events-db-to-modeling")
    assert egress["inputs"]["securityGroupId"] == group and egress["inputs"]["toPort"] == 5432
    log_group = named(full, "aws:cloudwatch/logGroup:LogGroup", "modeling-logs")
    assert log_group["inputs"]["kmsKeyId"] == full.outputs["kms_key_arn"]
    key_policy = json.loads(named(full, "aws:kms/key:Key", "keys-data")["inputs"]["policy"])
    (logs,) = [s for s in key_policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptsThisStacksLogGroups"]
    patterns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/ecs/snowplow-full-*" in patterns


def test_modeling_is_off_by_default(preview):
    run = preview()
    assert not [r for r in run.resources if r["type"].startswith(("aws:ecs", "aws:scheduler"))]
    assert "modeling" not in run.outputs


# --- The dbt container's script ------------------------------------------------------------------


def _fake_dbt(bin_dir: Path, exit_code: int) -> None:
    script = bin_dir / "dbt"
    script.write_text(f'#!/bin/sh\necho "dbt $*" >> "$CALLS"\n[ "$1" = deps ] && exit 0\nexit {exit_code}\n')
    script.chmod(0o755)


def _run_script(tmp_path: Path, dbt_exit: int, tamper: bool = False) -> tuple[int, str, str]:
    """Run the dbt container's script against a real archive of the project and a stand-in `dbt`."""
    if shutil.which("sha256sum") is None or shutil.which("tar") is None:
        pytest.skip("needs sha256sum and tar")
    archive = build_archive(ROOT / "modeling" / "dbt")
    project = tmp_path / "project"
    project.mkdir()
    (project / "project.tar.gz").write_bytes(archive.content + (b"x" if tamper else b""))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_dbt(bin_dir, dbt_exit)
    spec = TaskSpec(
        archive_uri="s3://b/k",
        archive_sha256=archive.sha256,
        dbt_image="i",
        aws_cli_image="a",
        target="postgres",
        package="own",
        log_group="g",
        region="eu-west-1",
    )
    script = dbt_script(spec).replace("/project", str(project))
    calls = tmp_path / "calls"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls)}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stdout, calls.read_text() if calls.exists() else ""


def test_script_unpacks_the_project_and_runs_deps_then_build(tmp_path):
    code, out, calls = _run_script(tmp_path, dbt_exit=0)
    assert code == 0 and out.strip().endswith(SUCCEEDED_MARKER)
    assert calls.splitlines() == ["dbt deps", "dbt build --target postgres"]
    assert (tmp_path / "project" / "dbt" / "dbt_project.yml").is_file()


def test_script_marks_a_failed_build_and_exits_with_its_code(tmp_path):
    code, out, _ = _run_script(tmp_path, dbt_exit=3)
    assert code == 3 and out.strip().endswith(f"{FAILED_MARKER} exit=3")


def test_script_refuses_an_archive_that_is_not_the_one_built(tmp_path):
    code, out, calls = _run_script(tmp_path, dbt_exit=0, tamper=True)
    assert code != 0 and FAILED_MARKER in out and calls == ""


def test_archive_is_reproducible_and_leaves_build_output_out(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1")
    for junk in ("target/manifest.json", "dbt_packages/p/x.sql", "logs/dbt.log", ".user.yml"):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("junk")
    first, second = build_archive(tmp_path), build_archive(tmp_path)
    assert first.content == second.content and first.files == ("dbt/dbt_project.yml", "dbt/models/a.sql")
    (tmp_path / "models" / "a.sql").write_text("select 2")
    assert build_archive(tmp_path).digest != first.digest


# --- Signals -----------------------------------------------------------------------------------


def test_signals_cover_the_schedule_and_the_runs_outcome(full):
    from components.modeling.modeling import modeling_signals
    from stack_config.analysis import ModelingConfig

    daily = modeling_signals("p-modeling", "Snowplow/p", ModelingConfig(schedule="cron(15 3 * * ? *)"), "/g")
    assert {(s.namespace, s.metric_name) for s in daily} == {
        ("AWS/Scheduler", "TargetErrorCount"),
        ("AWS/Scheduler", "InvocationDroppedCount"),
        ("Snowplow/p", "ModelingRunsFailed"),
        ("Snowplow/p", "ModelingRunsSucceeded"),
    }
    (stale,) = [s for s in daily if s.metric_name == "ModelingRunsSucceeded"]
    assert (stale.comparison, stale.treat_missing_data, stale.period_seconds) == (
        "LessThanThreshold",
        "breaching",
        86400,
    )
    weekly = modeling_signals("p-modeling", "Snowplow/p", ModelingConfig(schedule="cron(0 3 ? * MON *)"), "/g")
    assert "ModelingRunsSucceeded" not in {s.metric_name for s in weekly}  # two quiet days are normal there

    filters = {
        f["inputs"]["pattern"]: f["inputs"] for f in of_type(full, "aws:cloudwatch/logMetricFilter:LogMetricFilter")
    }
    assert filters[f'"{SUCCEEDED_MARKER}"']["metricTransformation"]["name"] == "ModelingRunsSucceeded"
    assert filters[f'"{FAILED_MARKER}"']["metricTransformation"]["namespace"] == "Snowplow/snowplow-full"
    assert {f["logGroupName"] for f in filters.values()} == {"/aws/ecs/snowplow-full-modeling"}

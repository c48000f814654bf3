"""Scheduled dbt runs: config rules, the Fargate task and its roles, the schedule, and the task's script itself."""

import base64
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from components.apps.app_versions import AWS_CLI_IMAGE, DBT_ADAPTERS, DBT_RUNTIME_IMAGE
from components.modeling.containers import FAILED_MARKER, SUCCEEDED_MARKER, TaskSpec, dbt_script
from components.modeling.project_archive import build_archive
from offline.engine import StackFile, run_program
from stack_config import ConfigError, parse
from stack_config.analysis import SCHEDULE_HELP, schedule_interval_seconds, schedule_problem
from tests.conftest import BASE, ROOT, of_type, write_stack

FULL = ROOT / "tests" / "stacks" / "Pulumi.full.yaml"
MODELING = ROOT / "modeling"
PROJECTS = {"dbt": MODELING / "dbt", "unified": MODELING / "unified"}
DEV = {"environment": "dev", "acceptLimitedUseLicense": True}
WITH_POSTGRES = {
    **DEV,
    "iglu": {"server": {"enabled": True, "ingressCidrs": ["198.51.100.0/24"]}},
    "destinations": {"postgres": {"enabled": True}},
}


CLUSTER_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/redshift-loader-AbCdEf"
CLUSTER = {
    "host": "analytics.abc123xyz.eu-west-1.redshift.amazonaws.com",
    "database": "analytics",
    "copyRoleArn": "arn:aws:iam::123456789012:role/analytics-copy",
    "securityGroupId": "sg-0123456789abcdef0",
    "egressCidrs": ["10.20.0.0/16"],
}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, "eu-west-1", "snowplow", "t")
    return caught.value.problems


# --- Config -----------------------------------------------------------------------------------


def test_a_schedule_without_a_warehouse_is_an_error_naming_the_keys():
    (problem,) = problems({**DEV, "modeling": {"enabled": True}})
    assert problem == (
        "snowplow:modeling.enabled: the models run on schedule cron(15 3 * * ? *) in a warehouse this stack loads, "
        "and none is enabled: enable one of snowplow:destinations.postgres.enabled, "
        "snowplow:destinations.redshift.enabled, snowplow:destinations.snowflake.enabled, "
        "snowplow:destinations.databricks.enabled or set modeling.enabled: false (got true)"
    )


def test_schedule_expressions_are_checked():
    for bad in ("cron(0 3 * * * *)", "rate(2 hour)", "rate(0 minutes)", "at(2026-01-01T00:00:00)", "daily"):
        (problem,) = problems({**WITH_POSTGRES, "modeling": {"enabled": True, "schedule": bad}})
        assert problem.startswith("snowplow:modeling.schedule:") and "EventBridge Scheduler" in problem, bad
    for good in ("cron(0/30 * ? * MON-FRI *)", "rate(1 hour)", "rate(6 hours)", "cron(15 3 * * ? *)"):
        cfg = parse({**WITH_POSTGRES, "modeling": {"enabled": True, "schedule": good}}, "eu-west-1", "s", "t")
        assert cfg.config.modeling.schedule == good


def test_a_schedule_problem_says_which_part_is_wrong():
    assert schedule_problem("rate(2 hour)") == f"{SCHEDULE_HELP} ('2 hour' needs the plural unit)"
    assert schedule_problem("rate(1 hours)") == f"{SCHEDULE_HELP} ('1 hours' needs the singular unit)"
    six_fields = f"{SCHEDULE_HELP} (a cron expression has 6 space-separated fields)"
    assert schedule_problem("cron(0 3 * * ?)") == six_fields
    assert schedule_problem("cron(0  3 * * ? *)") == six_fields  # two spaces: an empty field
    assert schedule_problem("cron(0 3 * * ? $)") == six_fields  # six fields, one of them not a cron field
    one_question_mark = f"{SCHEDULE_HELP} (exactly one of day-of-month and day-of-week must be '?')"
    assert schedule_problem("cron(0 3 ? * ? *)") == one_question_mark
    assert schedule_problem("cron(0 3 * * * *)") == one_question_mark
    assert schedule_problem("cron(0 3 ? * MON *)") is None and schedule_problem("rate(1 day)") is None


def test_the_longest_gap_between_runs_is_known_for_rates_and_daily_crons_only():
    """What the modeling alarm waits for before it says a run is missing."""
    assert schedule_interval_seconds("rate(1 minute)") == 60
    assert schedule_interval_seconds("rate(6 hours)") == 6 * 3600
    assert schedule_interval_seconds("rate(2 days)") == 2 * 86_400
    assert schedule_interval_seconds("cron(15 3 * * ? *)") == 86_400
    assert schedule_interval_seconds("cron(15 3 ? * * *)") == 86_400
    for not_daily in ("cron(15 3 ? * MON *)", "cron(15 3 1 * ? *)", "cron(15 3 * 1 ? *)", "cron(15 3 * * ? 2027)"):
        assert schedule_interval_seconds(not_daily) is None, not_daily
    assert schedule_interval_seconds("daily") is None


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


def test_package_is_own_or_snowplow_unified_and_the_error_says_what_unified_means():
    (problem,) = problems({**WITH_POSTGRES, "modeling": {"enabled": True, "package": "snowplow_web"}})
    assert problem.startswith("snowplow:modeling.package: own (") and problem.endswith('(got "snowplow_web")')
    assert "Snowplow Personal & Academic License" in problem and "states that you hold a licence" in problem


def test_every_warehouse_the_stack_loads_can_run_the_models():
    from stack_config.analysis import WAREHOUSE_KEYS

    assert WAREHOUSE_KEYS == {
        name: f"destinations.{name}" for name in ("postgres", "redshift", "snowflake", "databricks")
    }
    (problem,) = problems({**WITH_POSTGRES, "modeling": {"enabled": True, "warehouse": "bigquery"}})
    assert problem == "snowplow:modeling.warehouse: one of postgres, redshift, snowflake, databricks (got 'bigquery')"


def test_two_supported_warehouses_need_the_one_named():
    with_both = {
        **WITH_POSTGRES,
        "destinations": {
            "postgres": {"enabled": True},
            "redshift": {"enabled": True, "cluster": CLUSTER, "passwordSecretArn": CLUSTER_SECRET},
        },
    }
    (problem,) = problems({**with_both, "modeling": {"enabled": True}})
    assert problem == (
        "snowplow:modeling.warehouse: 2 warehouses are enabled (postgres, redshift); name the one the models run in "
        "(got no value)"
    )
    cfg = parse({**with_both, "modeling": {"enabled": True, "warehouse": "redshift"}}, "eu-west-1", "s", "t")
    assert cfg.config.modeling.warehouse == "redshift"


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


def test_fargate_task_fetches_the_project_then_runs_dbt_on_the_pinned_python_image(full):
    task = named(full, "aws:ecs/taskDefinition:TaskDefinition", "modeling-task")["inputs"]
    assert (task["requiresCompatibilities"], task["networkMode"], task["cpu"], task["memory"]) == (
        ["FARGATE"],
        "awsvpc",
        "1024",
        "2048",
    )
    fetch, dbt = containers(full)["fetch-project"], containers(full)["dbt"]
    assert fetch["image"] == AWS_CLI_IMAGE and fetch["essential"] is False
    assert dbt["image"] == DBT_RUNTIME_IMAGE and dbt["image"].startswith("public.ecr.aws/docker/library/python:3.11.")
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
    expected = build_archive(PROJECTS)
    assert content == expected.content and inputs["key"] == f"modeling/{expected.digest}/project.tar.gz"
    assert expected.sha256 in containers(full)["dbt"]["command"][0]  # checked before unpacking
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(content))) as tar:
        names = tar.getnames()
    # Both projects ship (the task enters the configured one) with the dbt pins the task installs.
    for name in ("dbt_project.yml", "profiles.yml"):
        assert f"dbt/{name}" in names and f"unified/{name}" in names
    assert "dbt/requirements.txt" in names and "unified/packages.yml" in names


def test_warehouse_credentials_come_from_secrets_manager_never_from_the_environment(full):
    dbt = containers(full)["dbt"]
    login = full.outputs["postgres_destination"]
    assert dbt["secrets"] == [{"name": "DBT_ENV_SECRET_PASSWORD", "valueFrom": login["passwordSecretArn"]}]
    environment = {e["name"]: e["value"] for e in dbt["environment"]}
    assert environment == {
        "DBT_HOST": login["host"],
        "DBT_PORT": "5432",
        "DBT_USER": login["username"],
        "DBT_DATABASE": login["database"],
        "DBT_SCHEMA": "derived",
        "DBT_SSLMODE": "require",
        "DBT_PROFILES_DIR": "/project/dbt",
        "DBT_USE_COLORS": "false",
        "PYTHONUNBUFFERED": "1",
    }


def profile_variables(project: Path, target: str) -> tuple[set[str], set[str]]:
    """The DBT_* variables a profiles.yml target reads: (all, those without a default)."""
    import yaml

    output = yaml.safe_load((project / "profiles.yml").read_text())["snowplow"]["outputs"][target]
    text = json.dumps(output)
    every = set(re.findall(r"env_var\('(DBT_[A-Z_]+)'", text))
    required = set(re.findall(r"env_var\('(DBT_[A-Z_]+)'\)", text))
    return every, required


def test_the_task_sets_every_variable_the_profile_reads_for_its_target(full):
    dbt = containers(full)["dbt"]
    given = {e["name"] for e in dbt["environment"]} | {s["name"] for s in dbt["secrets"]}
    every, required = profile_variables(PROJECTS["dbt"], "postgres")
    assert required <= given, required - given
    # Those with a default are set too, so a run does not depend on profiles.yml's defaults ...
    assert every - {"DBT_THREADS"} <= given
    # ... and the schema the task names is the one the README and profiles.yml promise.
    environment = {e["name"]: e["value"] for e in dbt["environment"]}
    assert "env_var('DBT_SCHEMA', 'derived')" in (PROJECTS["dbt"] / "profiles.yml").read_text()
    assert environment["DBT_SCHEMA"] == "derived"


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


@pytest.fixture(scope="module")
def on_redshift(tmp_path_factory):
    """snowplow_unified in an existing Redshift cluster whose loader writes schema `events`."""
    config = {
        **BASE,
        "snowplow:destinations": {
            "redshift": {"enabled": True, "cluster": CLUSTER, "passwordSecretArn": CLUSTER_SECRET, "schema": "events"}
        },
        "snowplow:modeling": {"enabled": True, "package": "snowplow_unified"},
    }
    return run_program(StackFile.read(write_stack(tmp_path_factory.mktemp("redshift"), "redshift", config)))


def test_on_redshift_the_task_logs_in_as_the_loader_and_runs_snowplow_unified(on_redshift):
    dbt = containers(on_redshift)["dbt"]
    assert dbt["secrets"] == [{"name": "DBT_ENV_SECRET_PASSWORD", "valueFrom": CLUSTER_SECRET}]
    environment = {e["name"]: e["value"] for e in dbt["environment"]}
    assert {k: v for k, v in environment.items() if k.startswith("DBT_")} == {
        "DBT_HOST": CLUSTER["host"],
        "DBT_PORT": "5439",
        "DBT_USER": "snowplow_loader",
        "DBT_DATABASE": "analytics",
        "DBT_SCHEMA": "derived",
        "DBT_SSLMODE": "require",
        "DBT_PROFILES_DIR": "/project/unified",
        "DBT_USE_COLORS": "false",
    }
    every, required = profile_variables(PROJECTS["unified"], "redshift")
    assert every - {"DBT_THREADS"} <= set(environment) | {"DBT_ENV_SECRET_PASSWORD"}
    script = dbt["command"][0]
    assert f"dbt-core {DBT_ADAPTERS['redshift']}" in script and "\ndbt deps\n" in script
    assert script.endswith(
        """dbt build --target redshift --vars '{"snowplow__atomic_schema": "events", "snowplow__license_accepted": true}'"""
    )
    (_, secrets, _) = policy(on_redshift, "modeling-execution-policy")
    assert secrets["Resource"] == [CLUSTER_SECRET]


def test_on_redshift_the_task_reaches_the_cluster_on_its_port_only(on_redshift):
    (schedule,) = of_type(on_redshift, "aws:scheduler/schedule:Schedule")
    (group,) = schedule["inputs"]["target"]["ecsParameters"]["networkConfiguration"]["securityGroups"]
    ingress = named(
        on_redshift, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "redshift-warehouse-from-modeling"
    )["inputs"]
    assert (ingress["securityGroupId"], ingress["referencedSecurityGroupId"], ingress["fromPort"]) == (
        CLUSTER["securityGroupId"],
        group,
        5439,
    )
    egress = named(
        on_redshift, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "redshift-modeling-to-warehouse-0"
    )
    assert (egress["inputs"]["securityGroupId"], egress["inputs"]["cidrIpv4"], egress["inputs"]["toPort"]) == (
        group,
        "10.20.0.0/16",
        5439,
    )
    # The loader keeps its own rules under their old names.
    assert named(
        on_redshift, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "redshift-loader-to-warehouse-0"
    )


SNOWFLAKE_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/snowflake-key-AbCdEf"
SNOWFLAKE_PASSPHRASE = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/snowflake-passphrase-AbCdEf"
SNOWFLAKE = {
    "enabled": True,
    "account": "acme-analytics",
    "user": "SNOWPLOW_LOADER",
    "role": "SNOWPLOW_LOADER",
    "database": "SNOWPLOW",
    "schema": "ATOMIC",
    "privateKeySecretArn": SNOWFLAKE_KEY,
    "privateKeyPassphraseSecretArn": SNOWFLAKE_PASSPHRASE,
}


def test_snowflake_needs_the_virtual_warehouse_dbt_runs_on():
    (problem,) = problems({**DEV, "destinations": {"snowflake": SNOWFLAKE}, "modeling": {"enabled": True}})
    assert problem.startswith("snowplow:modeling.snowflakeWarehouse:") and problem.endswith("(got no value)")


@pytest.fixture(scope="module")
def on_snowflake(tmp_path_factory):
    config = {
        **BASE,
        "snowplow:destinations": {"snowflake": SNOWFLAKE},
        "snowplow:modeling": {"enabled": True, "snowflakeWarehouse": "TRANSFORMING"},
    }
    return run_program(StackFile.read(write_stack(tmp_path_factory.mktemp("snowflake"), "snowflake", config)))


def test_on_snowflake_the_task_uses_the_loaders_key_pair_over_https(on_snowflake):
    dbt = containers(on_snowflake)["dbt"]
    assert dbt["secrets"] == [
        {"name": "DBT_ENV_SECRET_PRIVATE_KEY", "valueFrom": SNOWFLAKE_KEY},
        {"name": "DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE", "valueFrom": SNOWFLAKE_PASSPHRASE},
    ]
    environment = {e["name"]: e["value"] for e in dbt["environment"]}
    assert {k: v for k, v in environment.items() if k.startswith("DBT_")} == {
        "DBT_ACCOUNT": "acme-analytics",
        "DBT_USER": "SNOWPLOW_LOADER",
        "DBT_ROLE": "SNOWPLOW_LOADER",
        "DBT_WAREHOUSE": "TRANSFORMING",
        "DBT_DATABASE": "SNOWPLOW",
        "DBT_SCHEMA": "derived",
        "DBT_PROFILES_DIR": "/project/dbt",
        "DBT_USE_COLORS": "false",
    }
    every, _ = profile_variables(PROJECTS["dbt"], "snowflake")
    task_only = {"DBT_PROFILES_DIR", "DBT_USE_COLORS", "PYTHONUNBUFFERED"}
    assert every - {"DBT_THREADS"} == set(environment) - task_only | {
        "DBT_ENV_SECRET_PRIVATE_KEY",
        "DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE",
    }
    script = dbt["command"][0]
    assert f"dbt-core {DBT_ADAPTERS['snowflake']}" in script and "dbt deps" not in script
    assert script.endswith("""dbt build --target snowflake --vars '{"snowplow__atomic_schema": "ATOMIC"}'""")
    (_, secrets, *_) = policy(on_snowflake, "modeling-execution-policy")
    assert sorted(secrets["Resource"]) == sorted([SNOWFLAKE_KEY, SNOWFLAKE_PASSPHRASE])
    # Snowflake is reached over HTTPS: the task's group opens no other port.
    (schedule,) = of_type(on_snowflake, "aws:scheduler/schedule:Schedule")
    (group,) = schedule["inputs"]["target"]["ecsParameters"]["networkConfiguration"]["securityGroups"]
    egress = [
        r["inputs"]
        for r in of_type(on_snowflake, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["inputs"]["securityGroupId"] == group
    ]
    assert [(e["fromPort"], e["toPort"]) for e in egress] == [(443, 443)]


DATABRICKS_TOKEN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/databricks-token-AbCdEf"
DATABRICKS = {
    "enabled": True,
    "host": "https://acme-analytics.cloud.databricks.com",
    "catalog": "snowplow",
    "schema": "atomic",
    "volume": "snowplow_staging",
    "tokenSecretArn": DATABRICKS_TOKEN,
}


def test_databricks_needs_the_sql_warehouse_dbt_runs_on():
    (problem,) = problems({**DEV, "destinations": {"databricks": DATABRICKS}, "modeling": {"enabled": True}})
    assert problem.startswith("snowplow:modeling.databricksHttpPath:") and problem.endswith("(got no value)")
    bad = {"enabled": True, "databricksHttpPath": "https://acme.cloud.databricks.com/sql"}
    (problem,) = problems({**DEV, "destinations": {"databricks": DATABRICKS}, "modeling": bad})
    assert problem.startswith("snowplow:modeling.databricksHttpPath: must be the HTTP path")


@pytest.fixture(scope="module")
def on_databricks(tmp_path_factory):
    config = {
        **BASE,
        "snowplow:destinations": {"databricks": DATABRICKS},
        "snowplow:modeling": {
            "enabled": True,
            "databricksHttpPath": "/sql/1.0/warehouses/0123456789abcdef",
            "databricksEventsTable": "snowplow_events",
        },
    }
    return run_program(StackFile.read(write_stack(tmp_path_factory.mktemp("databricks"), "databricks", config)))


def test_on_databricks_the_task_uses_the_loaders_token_and_the_pipelines_table(on_databricks):
    dbt = containers(on_databricks)["dbt"]
    assert dbt["secrets"] == [{"name": "DBT_ENV_SECRET_PASSWORD", "valueFrom": DATABRICKS_TOKEN}]
    environment = {e["name"]: e["value"] for e in dbt["environment"]}
    assert {k: v for k, v in environment.items() if k.startswith("DBT_")} == {
        "DBT_HOST": "acme-analytics.cloud.databricks.com",
        "DBT_HTTP_PATH": "/sql/1.0/warehouses/0123456789abcdef",
        "DBT_DATABASE": "snowplow",
        "DBT_SCHEMA": "derived",
        "DBT_PROFILES_DIR": "/project/dbt",
        "DBT_USE_COLORS": "false",
    }
    every, _ = profile_variables(PROJECTS["dbt"], "databricks")
    assert every - {"DBT_THREADS"} <= set(environment) | {"DBT_ENV_SECRET_PASSWORD"}
    script = dbt["command"][0]
    assert f"dbt-core {DBT_ADAPTERS['databricks']}" in script
    assert script.endswith("""dbt build --target databricks --vars '{"snowplow__events_table": "snowplow_events"}'""")
    (_, secrets, *_) = policy(on_databricks, "modeling-execution-policy")
    assert secrets["Resource"] == [DATABRICKS_TOKEN]


# --- The dbt container's script ------------------------------------------------------------------


def _fake_tool(bin_dir: Path, name: str, exit_code: int = 0) -> None:
    """A stand-in that records its arguments, one call per line, arguments separated by |."""
    script = bin_dir / name
    script.write_text(
        f'#!/bin/sh\n{{ printf %s {name}; for a in "$@"; do printf "|%s" "$a"; done; echo; }} >> "$CALLS"\n'
        f'[ "$1" = build ] || exit 0\nexit {exit_code}\n'
    )
    script.chmod(0o755)


def _run_script(
    tmp_path: Path, dbt_exit: int, tamper: bool = False, package: str = "own", events_schema: str = "atomic"
) -> tuple[int, str, list[str]]:
    """Run the dbt container's script against a real archive of the projects, a stand-in `pip` and `dbt`."""
    from components.modeling.modeling import dbt_vars, has_packages
    from stack_config.analysis import PACKAGES

    if shutil.which("sha256sum") is None or shutil.which("tar") is None:
        pytest.skip("needs sha256sum and tar")
    archive = build_archive(PROJECTS)
    project = tmp_path / "project"
    project.mkdir()
    (project / "project.tar.gz").write_bytes(archive.content + (b"x" if tamper else b""))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tool(bin_dir, "dbt", dbt_exit)
    _fake_tool(bin_dir, "pip")
    spec = TaskSpec(
        archive_uri="s3://b/k",
        archive_sha256=archive.sha256,
        runtime_image="i",
        adapter=DBT_ADAPTERS["postgres"],
        aws_cli_image="a",
        target="postgres",
        project=PACKAGES[package],
        log_group="g",
        region="eu-west-1",
        run_deps=has_packages(MODELING / PACKAGES[package]),
        dbt_vars=dbt_vars(package, events_schema),
    )
    script = dbt_script(spec).replace("/project", str(project))
    calls = tmp_path / "calls"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls)}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stdout, calls.read_text().splitlines() if calls.exists() else []


def test_script_installs_the_tested_pins_then_builds_our_models_without_deps(tmp_path):
    code, out, calls = _run_script(tmp_path, dbt_exit=0)
    assert code == 0 and out.strip().endswith(SUCCEEDED_MARKER)
    requirements = str(tmp_path / "project" / "dbt" / "requirements.txt")
    pip, *dbt = calls
    assert pip.split("|")[-4:] == ["--constraint", requirements, "dbt-core", "dbt-postgres==1.11.0"]
    assert "--progress-bar" in pip and "-q" not in pip.split("|")  # pip's Collecting/Downloading lines are logged
    assert dbt == ["dbt|--version", "dbt|build|--target|postgres"]  # no packages.yml: no `dbt deps`
    assert (tmp_path / "project" / "dbt" / "dbt_project.yml").is_file()


def test_snowplow_unified_runs_its_own_project_with_deps_and_the_licence_var(tmp_path):
    code, out, calls = _run_script(tmp_path, dbt_exit=0, package="snowplow_unified")
    assert code == 0 and out.strip().endswith(SUCCEEDED_MARKER)
    assert calls[1:] == [
        "dbt|--version",
        "dbt|deps",
        'dbt|build|--target|postgres|--vars|{"snowplow__license_accepted": true}',
    ]


def test_a_loader_schema_other_than_atomic_reaches_the_models_as_a_var(tmp_path):
    _, _, calls = _run_script(tmp_path, dbt_exit=0, events_schema="snowplow_events")
    assert calls[-1] == 'dbt|build|--target|postgres|--vars|{"snowplow__atomic_schema": "snowplow_events"}'


def test_script_marks_a_failed_build_and_exits_with_its_code(tmp_path):
    code, out, _ = _run_script(tmp_path, dbt_exit=3)
    assert code == 3 and out.strip().endswith(f"{FAILED_MARKER} exit=3")


def test_script_refuses_an_archive_that_is_not_the_one_built(tmp_path):
    code, out, calls = _run_script(tmp_path, dbt_exit=0, tamper=True)
    assert code != 0 and FAILED_MARKER in out and calls == []


def test_every_supported_warehouse_has_an_adapter_pin_and_a_profile_target():
    import yaml

    from stack_config.analysis import WAREHOUSE_KEYS

    targets = set(yaml.safe_load((PROJECTS["dbt"] / "profiles.yml").read_text())["snowplow"]["outputs"])
    assert set(WAREHOUSE_KEYS) == set(DBT_ADAPTERS) and set(WAREHOUSE_KEYS) <= targets


def test_the_postgres_adapter_pin_is_the_one_the_tests_ran():
    pins = [line for line in (PROJECTS["dbt"] / "requirements.txt").read_text().splitlines() if "==" in line]
    assert DBT_ADAPTERS["postgres"] in pins and any(p.startswith("dbt-core==1.11.") for p in pins)
    assert all(re.fullmatch(r"dbt-[a-z]+==\d+\.\d+\.\d+", pin) for pin in DBT_ADAPTERS.values())


def test_archive_is_reproducible_and_leaves_build_output_out(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1")
    for junk in ("target/manifest.json", "dbt_packages/p/x.sql", "logs/dbt.log", ".user.yml"):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("junk")
    first, second = build_archive({"dbt": tmp_path}), build_archive({"dbt": tmp_path})
    assert first.content == second.content and first.files == ("dbt/dbt_project.yml", "dbt/models/a.sql")
    (tmp_path / "models" / "a.sql").write_text("select 2")
    assert build_archive({"dbt": tmp_path}).digest != first.digest


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

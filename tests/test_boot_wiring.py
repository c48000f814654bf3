"""What the plan promises a booting instance: its files, manifest and rights exist first, its user data is
the real boot script for exactly those files, and the hooks other apps build on (health, pre/post-start,
secret ARNs as Outputs) are wired through. The last test boots each planned app's user data end to end."""

import base64
import json
import re
import textwrap
from pathlib import Path

import pytest

from components.apps.boot_script import (
    BOOT_DEADLINE,
    BOOT_GRACE,
    OS_START_ALLOWANCE,
    SNOWPLOW_IMAGE_UID,
    failure_path_seconds,
)
from components.apps.config_bundle import MANIFEST_NAME, manifest_text, sha256_hex
from offline.engine import StackFile, run_program
from tests.conftest import ROOT, of_type
from tests.test_boot_script import FakeHost

APPS = ("collector", "enrich", "s3-loader-enriched", "s3-loader-bad")
FULL_APPS = (*APPS, "iglu-server", "postgres-loader", "snowflake-loader", "databricks-loader")
HEALTH = {
    "collector": "http://127.0.0.1:8080/health",
    "enrich": "http://127.0.0.1:8000/",
    "s3-loader-enriched": "http://127.0.0.1:8000/",
    "s3-loader-bad": "http://127.0.0.1:8000/",
}


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request):
    return run_program(StackFile.read(ROOT / f"Pulumi.{request.param}.yaml"))


def named(run, type_token: str, name: str) -> dict:
    (found,) = [r for r in of_type(run, type_token) if r["name"] == name]
    return found


def user_data(run, app: str, template_name: str | None = None) -> str:
    template = named(run, "aws:ec2/launchTemplate:LaunchTemplate", template_name or f"{app}-service-lt")
    return base64.b64decode(template["inputs"]["userData"]).decode()


def setting(script: str, name: str) -> str:
    (value,) = re.findall(rf"^{name}=(\S*)$", script, re.MULTILINE)
    return value.strip("'")


def config_objects(run, app: str) -> list[dict]:
    return [
        r
        for r in of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"]["metadata"]["snowplow-app"] == app
    ]


def test_launch_templates_and_groups_wait_for_files_manifest_and_role_policies(plan):
    for app in APPS:
        needed = {r["urn"] for r in config_objects(plan, app)}
        needed |= {
            named(plan, "aws:iam/rolePolicy:RolePolicy", f"{app}-service-{suffix}")["urn"]
            for suffix in ("policy", "session-manager")
        }
        assert len(needed) >= 4, app
        for kind, suffix in (("aws:ec2/launchTemplate:LaunchTemplate", "lt"), ("aws:autoscaling/group:Group", "asg")):
            resource = named(plan, kind, f"{app}-service-{suffix}")
            assert needed <= set(resource["dependencies"]), (app, kind, needed - set(resource["dependencies"]))


def test_each_app_ships_a_manifest_that_its_user_data_pins(plan):
    for app in APPS:
        objects = {r["inputs"]["metadata"]["snowplow-file"]: r["inputs"] for r in config_objects(plan, app)}
        manifest = objects.pop(MANIFEST_NAME)
        assert manifest["content"] == manifest_text({path: o["content"] for path, o in objects.items()})
        script = user_data(plan, app)
        assert setting(script, "MANIFEST_SHA256") == sha256_hex(manifest["content"])
        prefix = {o["key"].removesuffix("/" + path) for path, o in {**objects, MANIFEST_NAME: manifest}.items()}
        assert len(prefix) == 1
        assert setting(script, "CONFIG_SOURCE") == f"s3://{manifest['bucket']}/{prefix.pop()}/"
        assert setting(script, "HEALTH_URL") == HEALTH[app]
        assert setting(script, "CONTAINER_USER") == SNOWPLOW_IMAGE_UID


def test_groups_give_the_boot_its_deadline_before_health_checks_and_refreshes_act(plan):
    # A boot that fails at its deadline has marked the instance by the end of the grace period.
    assert BOOT_DEADLINE + failure_path_seconds() + OS_START_ALLOWANCE <= BOOT_GRACE
    for app in APPS:
        group = named(plan, "aws:autoscaling/group:Group", f"{app}-service-asg")["inputs"]
        assert group["healthCheckGracePeriod"] == BOOT_GRACE
        assert group["instanceRefresh"]["preferences"]["instanceWarmup"] == str(BOOT_GRACE)
        assert group["healthCheckType"] == ("ELB" if app == "collector" else "EC2")


def test_each_role_may_mark_only_its_own_group_unhealthy(plan):
    for app in APPS:
        group = named(plan, "aws:autoscaling/group:Group", f"{app}-service-asg")["inputs"]["name"]
        policy = json.loads(named(plan, "aws:iam/rolePolicy:RolePolicy", f"{app}-service-policy")["inputs"]["policy"])
        (mark,) = [s for s in policy["Statement"] if "autoscaling:SetInstanceHealth" in json.dumps(s["Action"])]
        assert mark["Action"] == "autoscaling:SetInstanceHealth"
        assert re.fullmatch(
            rf"arn:aws:autoscaling:eu-west-1:\d{{12}}:autoScalingGroup:\*:autoScalingGroupName/{group}",
            mark["Resource"],
        )


def test_consumers_health_probe_port_is_the_one_the_boot_polls(plan):
    from pyhocon import ConfigFactory

    for app, file in (("enrich", "enrich.hocon"), ("s3-loader-bad", "s3-loader.hocon")):
        (hocon,) = [
            r["inputs"]["content"] for r in config_objects(plan, app) if r["name"].endswith(file.replace(".", "-"))
        ]
        assert ConfigFactory.parse_string(hocon)["monitoring.healthProbe.port"] == 8000


HOOKS_PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_aws as aws

    from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, InstanceFacts, Placement
    from components.context import StackContext
    from stack_config.apps import OperationsConfig, ServiceSize

    ctx = StackContext(
        prefix="snowplow-hooks",
        region="eu-west-1",
        account_id="123456789012",
        partition="aws",
        environment="dev",
        tags={"project": "hooks"},
    )
    key = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-123456789012"
    api_key = aws.secretsmanager.Secret("api-key", name="snowplow-hooks-api-key", kms_key_id=key)


    def service(name, config):
        return Ec2Service(
            name,
            Ec2ServiceArgs(
                context=ctx,
                app=f"iglu-server-{name}",
                image="snowplow/iglu-server:0.14.2",
                instance=InstanceFacts("t3a.small", 2048, "x86_64"),
                size=ServiceSize(),
                placement=Placement("vpc-0123", ["subnet-0123"], key, "snowplow-hooks-app-config"),
                operations=OperationsConfig(),
                files={"config.hocon": config, "resolver.json": "{}\\n"},
                app_args=["--config", "/snowplow/config/config.hocon"],
                statements=[],
                secret_arns=[api_key.arn],
                health_path="/api/meta/health",
                pre_start=[["setup", "--config", "/snowplow/config/config.hocon"]],
                post_start=['aws secretsmanager put-secret-value --secret-id "$KEY_ARN" --secret-string file://key'],
            ),
        )


    service("plain", 'database.password = ${?DB_PASSWORD}\\n')
    service("secret", pulumi.Output.secret('database.password = "s3cr3t-from-config"\\n'))
    """
)


@pytest.fixture(scope="module")
def hooks(tmp_path_factory):
    project = tmp_path_factory.mktemp("hooks")
    (project / "Pulumi.yaml").write_text("name: hooks\nruntime: python\n")
    (project / "__main__.py").write_text(HOOKS_PROGRAM)
    stack = project / "Pulumi.test.yaml"
    stack.write_text("config:\n  aws:region: eu-west-1\n")
    return run_program(StackFile.read(stack), project_dir=project)


def test_hooks_reach_the_boot_script(hooks):
    script = user_data(hooks, "iglu-server-plain", "plain-lt")
    assert setting(script, "HEALTH_URL") == "http://127.0.0.1:8080/api/meta/health"
    assert setting(script, "RESOLVE_SECRETS") == "1"
    assert "pre_start_step 1 'pre-start step 1 (setup --config /snowplow/config/config.hocon)' setup --config" in script
    assert 'aws secretsmanager put-secret-value --secret-id "$KEY_ARN"' in script


def test_secret_arns_given_as_outputs_are_granted_exactly(hooks):
    policy = json.loads(named(hooks, "aws:iam/rolePolicy:RolePolicy", "secret-policy")["inputs"]["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    (arn,) = statements["ReadReferencedSecrets"]["Resource"]  # the Output resolved to the one secret's ARN
    assert re.fullmatch(r"arn:aws:secretsmanager:eu-west-1:\d{12}:secret:snowplow-hooks-api-key\S*", arn)
    key_use = statements["StackKeyReadsReferencedSecrets"]
    assert key_use["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.eu-west-1.amazonaws.com"
    assert key_use["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == [arn]


def test_secret_file_content_stays_secret_through_manifest_and_user_data(hooks):
    plan_text = json.dumps(hooks.resources)
    assert "s3cr3t-from-config" not in plan_text
    objects = {
        r["inputs"]["metadata"]["snowplow-file"]: r["inputs"] for r in config_objects(hooks, "iglu-server-secret")
    }
    assert objects["config.hocon"]["content"] == "[secret]"
    assert objects[MANIFEST_NAME]["content"] == "[secret]"  # its checksum of the secret file is secret too
    assert objects["resolver.json"]["content"] == "{}\n"
    template = named(hooks, "aws:ec2/launchTemplate:LaunchTemplate", "secret-lt")
    assert template["inputs"]["userData"] == "[secret]"


@pytest.mark.parametrize("app", APPS)
def test_planned_user_data_boots_its_app_from_the_planned_objects(plan, app, tmp_path):
    """The real user data of the plan, run by bash against the plan's own S3 objects on a fake host."""
    host = FakeHost(tmp_path)
    script = user_data(plan, app)
    placeholders = set()
    for obj in config_objects(plan, app):
        path = host.state / "s3" / obj["inputs"]["bucket"] / obj["inputs"]["key"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(obj["inputs"]["content"])
        placeholders |= set(re.findall(r"\{\{resolve:secretsmanager:([^}]+)\}\}", obj["inputs"]["content"]))
    # Secrets the files reference exist by the time an instance boots (e.g. the Iglu read key in prod).
    host.set("secrets.json", json.dumps({arn: "stand-in-secret-value" for arn in placeholders}))
    run = host.run(script)
    host.unlock()
    assert run.returncode == 0, run.stderr
    (started,) = [a for a in run.commands("docker", "run") if "--detach" in a]
    assert started[started.index("--name") + 1] == app
    assert HEALTH[app] in [c[-1] for c in run.commands("curl")]
    assert not run.marked_unhealthy


@pytest.fixture(scope="module")
def full_plan():
    return run_program(StackFile.read(ROOT / "tests" / "stacks" / "Pulumi.full.yaml"))


def assert_user_data_passes_shellcheck_and_fits(run, apps, tmp_path) -> None:
    from components.apps.boot_script import USER_DATA_LIMIT

    scripts = {f"{app}.sh": user_data(run, app) for app in apps}
    for name, script in scripts.items():
        assert len(script.encode()) < USER_DATA_LIMIT - 3000, name  # room for the hooks of apps to come
    assert_shellcheck_clean(scripts, tmp_path)


def assert_shellcheck_clean(scripts: dict[str, str], tmp_path) -> None:
    import shutil
    import subprocess
    import sys

    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).with_name("shellcheck"))
    for name, script in scripts.items():
        (tmp_path / name).write_text(script)
    done = subprocess.run([shellcheck, *(str(tmp_path / n) for n in scripts)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_planned_user_data_passes_shellcheck_and_fits_ec2s_limit(plan, tmp_path):
    assert_user_data_passes_shellcheck_and_fits(plan, APPS, tmp_path)


def test_full_stack_user_data_passes_shellcheck_and_fits_ec2s_limit(full_plan, tmp_path):
    """The Iglu Server has the longest user data (pre- and post-start hooks) and ships a shell script."""
    assert_user_data_passes_shellcheck_and_fits(full_plan, FULL_APPS, tmp_path)
    (bootstrap,) = [o for o in config_objects(full_plan, "iglu-server") if o["inputs"]["key"].endswith(".sh")]
    assert_shellcheck_clean({"postgres-bootstrap.sh": bootstrap["inputs"]["content"]}, tmp_path)

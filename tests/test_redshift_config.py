"""`snowplow:destinations.redshift`: one target, a password secret where the stack does not make one, one
instance of each app, and Serverless only where the network has three AZs; every error names its key."""

import pytest

from stack_config import ConfigError, parse

GOOD = {"environment": "dev", "acceptLimitedUseLicense": True, "network": {"create": {"azs": 3}}}
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/redshift-loader-AbCdEf"
ROLE = "arn:aws:iam::123456789012:role/redshift-copy"
CLUSTER = {
    "host": "analytics.abc123xyz.eu-west-1.redshift.amazonaws.com",
    "database": "snowplow",
    "copyRoleArn": ROLE,
    "securityGroupId": "sg-0123456789abcdef0",
}
WORKGROUP = {"name": "analytics", "database": "dev", "copyRoleArn": ROLE, "egressCidrs": ["10.20.0.0/16"]}


def problems(redshift: dict, **top) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, **top, "destinations": {"redshift": {"enabled": True, **redshift}}}, "eu-west-1", "p", "s")
    return caught.value.problems


def redshift_of(redshift: dict, **top):
    raw = {**GOOD, **top, "destinations": {"redshift": {"enabled": True, **redshift}}}
    return parse(raw, "eu-west-1", "p", "s").config.destinations.redshift


def one(lines: list[str], key: str) -> str:
    (line,) = [p for p in lines if p.startswith(f"snowplow:{key}:")]
    return line


def test_each_target_alone_is_accepted():
    assert redshift_of({"cluster": CLUSTER, "passwordSecretArn": SECRET}).target == "cluster"
    assert redshift_of({"workgroup": WORKGROUP, "passwordSecretArn": SECRET}).target == "workgroup"
    serverless = redshift_of({"serverless": {}})
    assert serverless.target == "serverless"
    assert (serverless.serverless.base_capacity, serverless.serverless.database) == (8, "snowplow")
    assert (serverless.schema_name, serverless.username) == ("atomic", "snowplow_loader")


def test_disabled_needs_no_target():
    raw = {**GOOD, "destinations": {"redshift": {"enabled": False}}}
    assert parse(raw, "eu-west-1", "p", "s").config.destinations.redshift.enabled is False


@pytest.mark.parametrize(
    "targets,named",
    [
        ({"cluster": CLUSTER, "serverless": {}}, "cluster, serverless"),
        ({"workgroup": WORKGROUP, "serverless": {}}, "workgroup, serverless"),
        ({"cluster": CLUSTER, "workgroup": WORKGROUP}, "cluster, workgroup"),
        ({}, "none"),
    ],
)
def test_exactly_one_target(targets, named):
    line = one(problems({**targets, "passwordSecretArn": SECRET}), "destinations.redshift")
    assert "set exactly one of cluster" in line and f"(got {named})" in line


@pytest.mark.parametrize("target", [{"cluster": CLUSTER}, {"workgroup": WORKGROUP}])
def test_existing_target_without_password_secret_is_rejected(target):
    line = one(problems(target), "destinations.redshift")
    assert "passwordSecretArn is required" in line and "snowplow_loader" in line


def test_password_secret_with_serverless_is_rejected():
    line = one(problems({"serverless": {}, "passwordSecretArn": SECRET}), "destinations.redshift")
    assert "the stack generates the loader's password" in line
    assert SECRET not in line


def test_loader_is_not_the_admin():
    line = one(problems({"serverless": {"adminUsername": "loader"}, "username": "loader"}), "destinations.redshift")
    assert "never as the namespace's admin" in line


def test_widerow_is_not_for_redshift():
    line = one(
        problems({"serverless": {}, "transformer": {"transformationType": "widerow"}}),
        "destinations.redshift.transformer",
    )
    assert "loads shredded output only" in line


@pytest.mark.parametrize("part", ["transformer", "loader"])
def test_apps_run_as_exactly_one_instance(part):
    line = one(problems({"serverless": {}, part: {"size": {"maxSize": 2}}}), f"destinations.redshift.{part}.size")
    assert "minSize and maxSize must be 1 (got 1 and 2)" in line


def test_instance_type_may_change():
    redshift = redshift_of({"serverless": {}, "transformer": {"size": {"instanceType": "m7i.large"}}})
    assert redshift.transformer.size.instance_type == "m7i.large"


def test_serverless_needs_three_azs():
    line = one(problems({"serverless": {}}, network={"create": {"azs": 2}}), "network.create.azs")
    assert "at least 3 availability zones (got 2)" in line and "destinations.redshift.serverless" in line


def test_existing_cluster_needs_no_third_az():
    raw = {**GOOD, "network": {"create": {"azs": 2}}}
    raw["destinations"] = {"redshift": {"enabled": True, "cluster": CLUSTER, "passwordSecretArn": SECRET}}
    assert parse(raw, "eu-west-1", "p", "s").config.destinations.redshift.target == "cluster"


@pytest.mark.parametrize(
    "serverless,key,allowed",
    [
        ({"baseCapacity": 12}, "baseCapacity", "must be 4 or a multiple of 8 RPUs (got 12)"),
        ({"baseCapacity": 2}, "baseCapacity", "greater than or equal to 4"),
        ({"maxCapacity": 20}, "maxCapacity", "must be 4 or a multiple of 8"),
        ({"baseCapacity": 32, "maxCapacity": 16}, "", "must not be below baseCapacity (32)"),
        ({"database": "Snow-Plow"}, "database", "lowercase Redshift identifier"),
    ],
)
def test_serverless_values(serverless, key, allowed):
    lines = problems({"serverless": serverless})
    line = one(lines, "destinations.redshift.serverless" + (f".{key}" if key else ""))
    assert allowed in line


def test_existing_target_must_be_reachable():
    cluster = {k: v for k, v in CLUSTER.items() if k != "securityGroupId"}
    line = one(problems({"cluster": cluster, "passwordSecretArn": SECRET}), "destinations.redshift.cluster")
    assert "set securityGroupId" in line and "egressCidrs" in line


def test_copy_role_must_be_a_role_arn():
    cluster = {**CLUSTER, "copyRoleArn": "redshift-copy"}
    line = one(problems({"cluster": cluster, "passwordSecretArn": SECRET}), "destinations.redshift.cluster.copyRoleArn")
    assert "must be the ARN of an IAM role" in line


def test_sizes_are_listed_for_preflight():
    raw = {**GOOD, "destinations": {"redshift": {"enabled": True, "serverless": {}}}}
    sizes = {app: key for app, key, _ in parse(raw, "eu-west-1", "p", "s").config.app_sizes()}
    assert sizes["redshift-transformer"] == "destinations.redshift.transformer"
    assert sizes["redshift-loader"] == "destinations.redshift.loader"

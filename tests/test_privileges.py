"""Narrow privileges, read statement by statement from the dev and prod plans."""

import json
from fnmatch import fnmatchcase

import pytest

from offline.engine import StackFile, run_program
from tests.conftest import ROOT, of_type

APPS = ("collector", "enrich", "s3-loader-enriched", "s3-loader-bad")
GEO = {
    "snowplow:enrich": {
        "enrichments": {"ip_lookups": {"geo": {"database": "GeoLite2-City.mmdb", "uri": "s3://acme-assets/maxmind"}}}
    }
}


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request):
    return run_program(StackFile.read(ROOT / f"Pulumi.{request.param}.yaml"))


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(run) -> list[tuple[str, dict]]:
    return [
        (policy["name"], statement)
        for policy in of_type(run, "aws:iam/rolePolicy:RolePolicy")
        for statement in json.loads(policy["inputs"]["policy"])["Statement"]
    ]


def app_statements(run, app: str) -> dict[str, dict]:
    (policy,) = [p for p in of_type(run, "aws:iam/rolePolicy:RolePolicy") if p["name"] == f"{app}-service-policy"]
    return {s["Sid"]: s for s in json.loads(policy["inputs"]["policy"])["Statement"]}


def endpoint_policy(run, service: str) -> list[dict]:
    (policy,) = [p for p in of_type(run, "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy") if f"-{service}-" in p["name"]]
    return json.loads(policy["inputs"]["policy"])["Statement"]


def test_every_instance_role_kms_grant_goes_through_a_service(plan):
    key = plan.outputs["kms_key_arn"]
    grants = [(name, s) for name, s in role_statements(plan) if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert len(grants) >= 10
    for name, statement in grants:
        assert statement["Resource"] == key, name
        via = statement["Condition"]["StringEquals"]["kms:ViaService"]
        assert via.endswith(".eu-west-1.amazonaws.com") and via.split(".")[0] in {
            "s3",
            "kinesis",
            "dynamodb",
            "secretsmanager",
        }
        assert any(k.startswith("kms:EncryptionContext:") for op in statement["Condition"].values() for k in op), name


def test_each_app_uses_the_key_only_through_the_services_it_calls(plan):
    expected = {
        "collector": {"s3", "kinesis"},
        # prod runs the stack's Iglu Server: enrich reads its read key from Secrets Manager
        "enrich": {"s3", "kinesis", "dynamodb"} | ({"secretsmanager"} if plan.stack == "prod" else set()),
        "s3-loader-enriched": {"s3", "kinesis", "dynamodb"},
        "s3-loader-bad": {"s3", "kinesis", "dynamodb"},
    }
    for app, services in expected.items():
        used = {
            s["Condition"]["StringEquals"]["kms:ViaService"].split(".")[0]
            for s in app_statements(plan, app).values()
            if "Condition" in s and "kms:ViaService" in s["Condition"].get("StringEquals", {})
        }
        assert used == services, app
    collector = app_statements(plan, "collector")
    written = collector["StackKeyWritesStreams"]["Condition"]["StringEquals"]["kms:EncryptionContext:aws:kinesis:arn"]
    assert sorted(a.rsplit("/", 1)[1] for a in written) == sorted(
        [plan.outputs["stream_names"]["raw"], plan.outputs["stream_names"]["bad1"]]
    )
    assert "StackKeyReadsStreams" not in collector
    loader = app_statements(plan, "s3-loader-enriched")["StackKeyWritesLakePrefix"]
    assert loader["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert loader["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"][1].endswith("/enriched/*")


def test_no_role_carries_an_aws_managed_policy(plan):
    assert of_type(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert of_type(plan, "aws:iam/policyAttachment:PolicyAttachment") == []
    for role in of_type(plan, "aws:iam/role:Role"):
        assert not role["inputs"].get("managedPolicyArns"), role["name"]
    assert "arn:aws:iam::aws:policy/" not in json.dumps(plan.resources)


def test_session_manager_is_an_inline_policy_of_named_actions(plan):
    for app in APPS:
        (policy,) = [
            p for p in of_type(plan, "aws:iam/rolePolicy:RolePolicy") if p["name"] == f"{app}-service-session-manager"
        ]
        statements = json.loads(policy["inputs"]["policy"])["Statement"]
        actions = [a for s in statements for a in as_list(s["Action"])]
        assert sorted(actions) == [
            "ssm:UpdateInstanceInformation",
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        ]
        (register,) = [s for s in statements if s["Action"] == "ssm:UpdateInstanceInformation"]
        assert register["Resource"] == "${ec2:SourceInstanceARN}"


def test_no_iam_grant_creates_or_touches_a_table_the_plan_does_not_manage(plan):
    tables = {t["inputs"]["name"] for t in of_type(plan, "aws:dynamodb/table:Table")}
    assert len(tables) == 3
    for name, statement in role_statements(plan):
        actions = as_list(statement["Action"])
        assert "dynamodb:CreateTable" not in actions and "dynamodb:UpdateTable" not in actions, name
        if any(a.startswith("dynamodb:") for a in actions):
            for arn in as_list(statement["Resource"]):
                assert arn.split(":table/", 1)[1] in tables, (name, arn)
        assert "cloudwatch:PutMetricData" not in actions  # KCL runs with NullMetricsFactory in these apps


def test_gateway_endpoints_have_policies_covering_every_bucket_and_table_the_roles_use(plan):
    # the gateway endpoints, and the Kinesis interface endpoint both shipped stacks get at their traffic
    endpoints = of_type(plan, "aws:ec2/vpcEndpoint:VpcEndpoint")
    policies = of_type(plan, "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy")
    assert len(endpoints) == len(policies) == 3
    assert {e["urn"] for e in endpoints} == {p["propertyDependencies"]["vpcEndpointId"][0] for p in policies}
    policy_of = {"s3": "s3", "dynamodb": "dynamodb", "kinesis": "kinesis-streams"}
    allowed = {
        service: [
            (a, r)
            for s in endpoint_policy(plan, policy_of[service])
            for a in as_list(s["Action"])
            for r in as_list(s["Resource"])
        ]
        for service in policy_of
    }
    for name, statement in role_statements(plan):
        for action in as_list(statement["Action"]):
            service = action.split(":")[0]
            if service not in allowed:
                continue
            for arn in as_list(statement["Resource"]):
                assert any(a == action and fnmatchcase(arn, r) for a, r in allowed[service]), (name, action, arn)
    for statement in endpoint_policy(plan, "kinesis-streams"):
        assert not any(a.endswith(":*") or a == "*" for a in as_list(statement["Action"]))
    repos = [s for s in endpoint_policy(plan, "s3") if s["Sid"] == "AmazonLinuxRepositoriesAndPublicAssets"]
    assert "arn:aws:s3:::al2023-repos-eu-west-1-*/*" in repos[0]["Resource"]
    for statement in endpoint_policy(plan, "s3") + endpoint_policy(plan, "dynamodb"):
        assert not any(a.endswith(":*") or a == "*" for a in as_list(statement["Action"]))


def test_endpoint_policy_follows_the_configured_asset_buckets_and_region(preview):
    run = preview(GEO)
    statements = {s["Sid"]: s for s in endpoint_policy(run, "s3")}
    assert statements["EnrichmentAssets"]["Resource"] == ["arn:aws:s3:::acme-assets/maxmind/GeoLite2-City.mmdb*"]
    assert (
        app_statements(run, "enrich")["ReadEnrichmentAssets"]["Resource"] == statements["EnrichmentAssets"]["Resource"]
    )
    public = statements["AmazonLinuxRepositoriesAndPublicAssets"]["Resource"]
    assert "arn:aws:s3:::snowplow-hosted-assets/third-party/ua-parser/regexes-latest.yaml" in public

    elsewhere = preview({"aws:region": "us-west-2"})
    public = {s["Sid"]: s for s in endpoint_policy(elsewhere, "s3")}["AmazonLinuxRepositoriesAndPublicAssets"]
    assert public["Resource"] == ["arn:aws:s3:::al2023-repos-us-west-2-*/*"]  # eu-west-1 assets go via NAT there


def test_key_policy_lets_logs_use_the_key_only_for_this_stacks_log_groups(plan):
    (key,) = of_type(plan, "aws:kms/key:Key")
    statements = json.loads(key["inputs"]["policy"])["Statement"]
    (logs,) = [s for s in statements if str(s["Principal"].get("Service", "")).startswith("logs.")]
    patterns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert patterns == [
        f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/ec2/snowplow-{plan.stack}-*",
        f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/ecs/snowplow-{plan.stack}-*",
        f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/rds/instance/snowplow-{plan.stack}-*/*",
        f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/opensearch/snowplow-{plan.stack}-*/*",
    ]
    groups = of_type(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert any(g["inputs"]["name"].startswith("/aws/rds/") for g in groups) == (plan.stack == "prod")  # Iglu's db
    for group in groups:
        arn = f"arn:aws:logs:eu-west-1:123456789012:log-group:{group['inputs']['name']}"
        assert any(fnmatchcase(arn, pattern) for pattern in patterns), arn
    for other in (
        "/aws/lambda/other",
        "/aws/rds/instance/other-db/postgresql",
        "/aws/ec2/snowplow-other-enrich",
        "/aws/opensearch/other-search/application",
    ):
        assert not any(fnmatchcase(f"arn:aws:logs:eu-west-1:123456789012:log-group:{other}", p) for p in patterns)

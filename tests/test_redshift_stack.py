"""The Redshift destination in whole stacks: rendered transformer and loader configs, their wiring to the
enriched stream, bad-2, the queue, the lake prefix and the warehouse; the stack key and no public access.

`tests/stacks/Pulumi.full.yaml` creates a Serverless namespace and workgroup (prod); the dev stack here loads
an existing cluster.
"""

import json

import pytest
from pyhocon import ConfigFactory

from components.destinations import redshift as redshift_module
from components.destinations.redshift_loader_config import RedshiftConnection, render_loader_config
from components.destinations.redshift_transformer_config import render_transformer_config
from offline.engine import StackFile, run_program
from offline.preview import render_app_files
from tests.conftest import BASE, ROOT, of_type, write_stack
from tests.test_iglu_postgres_stack import PLACEHOLDER, files_of, generated_secret_values, named, policy

FULL = ROOT / "tests" / "stacks" / "Pulumi.full.yaml"
QUEUE = "aws:sqs/queue:Queue"
NAMESPACE = "aws:redshiftserverless/namespace:Namespace"
WORKGROUP = "aws:redshiftserverless/workgroup:Workgroup"
CLUSTER_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/redshift-loader-AbCdEf"
CLUSTER = {
    "host": "analytics.abc123xyz.eu-west-1.redshift.amazonaws.com",
    "database": "analytics",
    "copyRoleArn": "arn:aws:iam::123456789012:role/analytics-copy",
    "securityGroupId": "sg-0123456789abcdef0",
}


@pytest.fixture(scope="module")
def captured():
    """Every RedshiftDestination the program builds, to read the signals it exposes."""
    built = []
    original = redshift_module.RedshiftDestination.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        built.append(self)

    redshift_module.RedshiftDestination.__init__ = init
    yield built
    redshift_module.RedshiftDestination.__init__ = original


@pytest.fixture(scope="module")
def full(captured):
    return run_program(StackFile.read(FULL))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    config = {
        **BASE,
        "snowplow:destinations": {
            "redshift": {"enabled": True, "cluster": CLUSTER, "passwordSecretArn": CLUSTER_SECRET, "schema": "events"}
        },
    }
    return run_program(StackFile.read(write_stack(tmp_path_factory.mktemp("cluster"), "cluster", config)))


def configs(run) -> tuple[dict, dict]:
    transformer = ConfigFactory.parse_string(files_of(run, "redshift-transformer")["transformer.hocon"])
    loader = ConfigFactory.parse_string(files_of(run, "redshift-loader")["redshift-loader.hocon"])
    return transformer, loader


def test_transformer_reads_enriched_and_writes_its_prefix_failures_and_queue(full):
    transformer, _ = configs(full)
    table = named(full, "aws:dynamodb/table:Table", "redshift-transformer-leases")["inputs"]
    queue = named(full, QUEUE, "redshift-queue")["inputs"]
    assert transformer["input"]["appName"] == table["name"] == "snowplow-full-redshift-transformer"
    assert transformer["input"]["streamName"] == full.outputs["stream_names"]["enriched"]
    assert transformer["input"]["position"] == "TRIM_HORIZON"
    assert transformer["output"]["path"] == f"s3://{full.outputs['lake_bucket']}/transformed/"
    assert transformer["output"]["bad"]["type"] == "kinesis"
    assert transformer["output"]["bad"]["streamName"] == full.outputs["stream_names"]["bad2"]
    assert transformer["queue"] == {"type": "sqs", "queueName": queue["name"], "region": "eu-west-1"}
    assert transformer["formats"]["transformationType"] == "shred"
    assert transformer["formats"]["default"] == "TSV"
    assert transformer["windowing"] == "5 minutes"
    assert transformer["monitoring"]["metrics"]["cloudwatch"] is False
    assert transformer["license"]["accept"] is True


def test_loader_takes_the_same_queue_and_logs_in_with_its_secret(full):
    _, loader = configs(full)
    queue = named(full, QUEUE, "redshift-queue")["inputs"]
    destination = full.outputs["redshift_destination"]
    storage = loader["storage"]
    assert loader["messageQueue"] == {"type": "sqs", "queueName": queue["name"]}
    assert (
        storage["host"]
        == destination["host"]
        == ("snowplow-full-redshift.123456789012.eu-west-1.redshift-serverless.amazonaws.com")
    )
    assert (storage["port"], storage["database"], storage["schema"]) == (5439, "snowplow", "atomic")
    assert storage["username"] == "snowplow_loader"
    assert storage["jdbcAuth"]["type"] == "password"
    (arn,) = PLACEHOLDER.findall(storage["jdbcAuth"]["password"])
    assert arn == destination["passwordSecretArn"]
    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow-full/redshift/loader-password")
    assert storage["loadAuthMethod"] == {"type": "NoCreds"}
    assert storage["roleArn"] == destination["copyRoleArn"]
    assert named(full, NAMESPACE, "redshift-serverless-namespace")["inputs"]["iamRoles"] == [storage["roleArn"]]
    assert storage["jdbc"] == {"ssl": True, "sslMode": "verify-full"}
    assert storage["maxError"] == 0


def test_render_writes_both_configs_and_their_resolver(full, tmp_path):
    written = {str(p.relative_to(tmp_path)) for p in render_app_files(full, tmp_path)}
    for app, config in (("redshift-transformer", "transformer.hocon"), ("redshift-loader", "redshift-loader.hocon")):
        assert {f"{app}/{config}", f"{app}/iglu_resolver.json", f"{app}/manifest.sha256"} <= written
    resolver = json.loads((tmp_path / "redshift-loader" / "iglu_resolver.json").read_text())
    assert resolver["schema"].startswith("iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-")


def test_no_secret_value_in_any_rendered_file(full):
    values = generated_secret_values(full)
    assert values
    for app in ("redshift-transformer", "redshift-loader"):
        for text in files_of(full, app).values():
            assert not any(value in text for value in values)


def test_namespace_workgroup_and_queue_use_the_stack_key_and_nothing_is_public(full):
    key = full.outputs["kms_key_arn"]
    namespace = named(full, NAMESPACE, "redshift-serverless-namespace")
    inputs = namespace["inputs"]
    assert inputs["kmsKeyId"] == key and inputs["adminPasswordSecretKmsKeyId"] == key
    assert inputs["manageAdminPassword"] is True and "adminUserPassword" not in inputs
    assert namespace["protect"] and namespace["retainOnDelete"]  # prod
    workgroup = named(full, WORKGROUP, "redshift-serverless-workgroup")["inputs"]
    assert workgroup["publiclyAccessible"] is False and workgroup["enhancedVpcRouting"] is True
    assert workgroup["subnetIds"] == full.outputs["private_subnet_ids"]
    assert (workgroup["baseCapacity"], workgroup["maxCapacity"]) == (8, 64)
    assert {"parameterKey": "require_ssl", "parameterValue": "true"} in workgroup["configParameters"]
    queue = named(full, QUEUE, "redshift-queue")["inputs"]
    assert queue["kmsMasterKeyId"] == key
    assert queue["fifoQueue"] is True and queue["contentBasedDeduplication"] is True
    assert queue["name"].endswith(".fifo")
    secret = named(full, "aws:secretsmanager/secret:Secret", "redshift-loader-password")["inputs"]
    assert secret["kmsKeyId"] == key


def test_only_the_loader_reaches_the_workgroup(full):
    (sg,) = workgroup_groups = named(full, WORKGROUP, "redshift-serverless-workgroup")["inputs"]["securityGroupIds"]
    assert workgroup_groups
    loader_sg = full.outputs["redshift_destination"]["loaderSecurityGroupId"]
    ingress = [r["inputs"] for r in of_type(full, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    into_workgroup = [r for r in ingress if r["securityGroupId"] == sg]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in into_workgroup] == [
        (loader_sg, 5439, 5439)
    ]
    assert not any("cidrIpv4" in r or "cidrIpv6" in r for r in into_workgroup)


def test_iam_is_scoped_to_the_queue_prefix_and_stream(full):
    lake = f"arn:aws:s3:::{full.outputs['lake_bucket']}"
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:snowplow-full-redshift-windows.fifo"
    transformer = policy(full, "redshift-transformer")
    assert transformer["WriteTransformedPrefix"]["Resource"] == f"{lake}/transformed/*"
    assert transformer["ListTransformedPrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["transformed/*"]}}
    assert transformer["AnnounceWindows"]["Resource"] == queue_arn
    assert "sqs:ReceiveMessage" not in transformer["AnnounceWindows"]["Action"]
    key_use = transformer["StackKeyForQueue"]["Condition"]
    assert key_use["StringEquals"]["kms:ViaService"] == "sqs.eu-west-1.amazonaws.com"
    assert key_use["StringEquals"]["kms:EncryptionContext:aws:sqs:arn"] == [queue_arn]
    assert transformer["ReadEnrichedStream"]["Resource"] == [
        "arn:aws:kinesis:eu-west-1:123456789012:stream/snowplow-full-enriched"
    ]
    assert transformer["WriteTransformerFailures"]["Resource"] == [
        "arn:aws:kinesis:eu-west-1:123456789012:stream/snowplow-full-bad-2"
    ]
    loader = policy(full, "redshift-loader")
    assert loader["TakeWindowAnnouncements"]["Resource"] == queue_arn
    assert "sqs:SendMessage" not in loader["TakeWindowAnnouncements"]["Action"]
    assert loader["ReadTransformedPrefix"]["Resource"] == f"{lake}/transformed/*"
    assert full.outputs["redshift_destination"]["passwordSecretArn"] in loader["ReadReferencedSecrets"]["Resource"]
    assert not any("s3:PutObject" in json.dumps(s) for s in loader.values())
    copy = json.loads(named(full, "aws:iam/rolePolicy:RolePolicy", "redshift-copy-policy")["inputs"]["policy"])
    copy_statements = {s["Sid"]: s for s in copy["Statement"]}
    assert copy_statements["ReadTransformedPrefix"]["Resource"] == f"{lake}/transformed/*"
    for statement in copy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        assert statement["Resource"] != "*"
        assert actions and not any(
            a.startswith(("s3:Put", "s3:Delete", "kms:Encrypt", "kms:GenerateDataKey")) for a in actions
        )


def test_transformer_lease_table_is_behind_the_dynamodb_endpoint(full):
    policy_text = named(full, "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", "network-dynamodb-endpoint-policy")
    assert "table/snowplow-full-redshift-transformer" in policy_text["inputs"]["policy"]


def test_each_app_runs_exactly_one_instance(full):
    for app in ("redshift-transformer", "redshift-loader"):
        group = named(full, "aws:autoscaling/group:Group", f"{app}-service-asg")["inputs"]
        assert (group["minSize"], group["maxSize"]) == (1, 1)


def test_signals_name_the_stream_queue_and_groups(full, captured):
    (destination,) = captured
    by_name = {s.name: s for s in destination.signals}
    assert set(by_name) == {
        "redshift-transformer-iterator-age",
        "redshift-oldest-window",
        "redshift-transformer-not-running",
        "redshift-loader-not-running",
    }
    lag = by_name["redshift-transformer-iterator-age"]
    assert (lag.namespace, lag.metric_name) == ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds")
    assert lag.dimensions == {"StreamName": "snowplow-full-enriched"}
    age = by_name["redshift-oldest-window"]
    assert (age.namespace, age.metric_name, list(age.dimensions)) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        ["QueueName"],
    )
    down = by_name["redshift-loader-not-running"]
    assert (down.metric_name, down.comparison, down.threshold) == ("GroupInServiceInstances", "LessThanThreshold", 1)


def test_existing_cluster_gets_no_warehouse_and_its_group_admits_the_loader(cluster):
    assert not of_type(cluster, NAMESPACE) and not of_type(cluster, WORKGROUP)
    assert not [r for r in of_type(cluster, "aws:iam/role:Role") if "copy" in r["name"]]
    _, loader = configs(cluster)
    storage = loader["storage"]
    assert (storage["host"], storage["database"], storage["schema"]) == (CLUSTER["host"], "analytics", "events")
    assert storage["roleArn"] == CLUSTER["copyRoleArn"]
    assert PLACEHOLDER.findall(storage["jdbcAuth"]["password"]) == [CLUSTER_SECRET]
    loader_sg = cluster.outputs["redshift_destination"]["loaderSecurityGroupId"]
    ingress = [r["inputs"] for r in of_type(cluster, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    assert {
        "securityGroupId": CLUSTER["securityGroupId"],
        "referencedSecurityGroupId": loader_sg,
        "port": 5439,
    } in [
        {
            "securityGroupId": r["securityGroupId"],
            "referencedSecurityGroupId": r.get("referencedSecurityGroupId"),
            "port": r["fromPort"],
        }
        for r in ingress
    ]
    egress = [r["inputs"] for r in of_type(cluster, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]
    assert any(r["securityGroupId"] == loader_sg and r["fromPort"] == 5439 for r in egress)
    assert CLUSTER_SECRET in policy(cluster, "redshift-loader")["ReadReferencedSecrets"]["Resource"]


def test_renderers_refuse_a_path_that_is_not_an_s3_folder():
    with pytest.raises(ValueError, match="s3:// folder"):
        render_transformer_config(
            app_name="a",
            stream="s",
            region="eu-west-1",
            initial_position="LATEST",
            output_path="s3://bucket/transformed",
            bad_stream="b",
            queue_name="q.fifo",
            window_minutes=10,
            transformation_type="shred",
            telemetry=False,
        )


def test_widerow_rendering_asks_for_json_files():
    config = render_transformer_config(
        app_name="a",
        stream="s",
        region="eu-west-1",
        initial_position="LATEST",
        output_path="s3://bucket/transformed/",
        bad_stream="b",
        queue_name="q.fifo",
        window_minutes=10,
        transformation_type="widerow",
        telemetry=True,
    )
    assert config["formats"] == {"transformationType": "widerow", "fileFormat": "json"}
    assert config["telemetry"] == {"disable": False}


def test_loader_renderer_holds_only_the_secret_reference():
    connection = RedshiftConnection("h.example", 5439, "d", "atomic", "u", CLUSTER_SECRET, CLUSTER["copyRoleArn"])
    text = json.dumps(
        render_loader_config(
            region="eu-west-1", queue_name="q.fifo", connection=connection, max_error=3, telemetry=False
        )
    )
    assert "{{resolve:secretsmanager:" + CLUSTER_SECRET + "}}" in text

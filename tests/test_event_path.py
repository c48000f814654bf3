"""The event path: collector, enrich and S3 loaders get the files, access and infrastructure they need."""

import base64
import json

import pytest
from pyhocon import ConfigFactory

from offline.engine import StackFile, run_program
from stack_config import ConfigError
from tests.conftest import BASE, ROOT, of_type, write_stack
from tests.test_enrichments import iglu_central

SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/currency-AbCdEf"
TLS = {"domain": "collector.example.org", "hostedZoneId": "Z0123456789EXAMPLE"}


@pytest.fixture(scope="module")
def prod():
    return run_program(StackFile.read(ROOT / "Pulumi.prod.yaml"))


@pytest.fixture(scope="module")
def dev():
    return run_program(StackFile.read(ROOT / "Pulumi.dev.yaml"))


def files_of(run, app: str) -> dict[str, str]:
    return {
        r["inputs"]["metadata"]["snowplow-file"]: r["inputs"]["content"]
        for r in of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"]["metadata"]["snowplow-app"] == app
    }


def hocon(run, app: str, name: str):
    return ConfigFactory.parse_string(files_of(run, app)[name])


def user_data(run, app: str) -> str:
    (template,) = [r for r in of_type(run, "aws:ec2/launchTemplate:LaunchTemplate") if r["name"] == f"{app}-service-lt"]
    return base64.b64decode(template["inputs"]["userData"]).decode()


def policy_of(run, app: str) -> dict:
    (policy,) = [r for r in of_type(run, "aws:iam/rolePolicy:RolePolicy") if r["name"] == f"{app}-service-policy"]
    return json.loads(policy["inputs"]["policy"])


def test_streams_are_wired_as_snowplow_runs_them(prod):
    collector = hocon(prod, "collector", "collector.hocon")
    assert collector["collector.streams.good.name"] == "snowplow-prod-raw"
    assert collector["collector.streams.bad.name"] == "snowplow-prod-bad-1"
    assert collector["collector.port"] == 8080

    enrich = hocon(prod, "enrich", "enrich.hocon")
    assert enrich["input.streamName"] == "snowplow-prod-raw"
    assert enrich["output.good.streamName"] == "snowplow-prod-enriched"
    assert enrich["output.bad.streamName"] == "snowplow-prod-bad-1"

    lake = prod.outputs["lake_bucket"]
    enriched = hocon(prod, "s3-loader-enriched", "s3-loader.hocon")
    assert (enriched["input.streamName"], enriched["purpose"]) == ("snowplow-prod-enriched", "ENRICHED_EVENTS")
    assert enriched["output.good.path"] == f"s3://{lake}/enriched/"
    assert enriched["output.good.partitionFormat"] == "load_date={yyyy}-{MM}-{dd}"  # what the Athena table projects
    assert enriched["output.bad.streamName"] == "snowplow-prod-bad-2"

    bad = hocon(prod, "s3-loader-bad", "s3-loader.hocon")
    assert (bad["input.streamName"], bad["purpose"]) == ("snowplow-prod-bad-1", "SELF_DESCRIBING")
    assert bad["output.good.path"] == f"s3://{lake}/bad/"
    assert bad["output.good.partitionFormat"] == "{vendor}.{schema}"
    assert bad["output.bad.streamName"] == "snowplow-prod-bad-2"


def test_every_app_accepts_the_license_in_config_and_environment(prod):
    for app, name in (
        ("collector", "collector.hocon"),
        ("enrich", "enrich.hocon"),
        ("s3-loader-bad", "s3-loader.hocon"),
    ):
        config = hocon(prod, app, name)
        assert config.get("collector.license.accept", config.get("license.accept", False)) is True
        assert "--env ACCEPT_LIMITED_USE_LICENSE=yes" in user_data(prod, app)


def test_each_kcl_app_name_is_its_encrypted_recoverable_lease_table(prod):
    tables = {t["inputs"]["name"]: t for t in of_type(prod, "aws:dynamodb/table:Table")}
    for app, name in (
        ("enrich", "enrich.hocon"),
        ("s3-loader-enriched", "s3-loader.hocon"),
        ("s3-loader-bad", "s3-loader.hocon"),
    ):
        table = tables[hocon(prod, app, name)["input.appName"]]
        assert table["inputs"]["hashKey"] == "leaseKey"
        assert table["inputs"]["attributes"] == [{"name": "leaseKey", "type": "S"}]
        assert table["inputs"]["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": prod.outputs["kms_key_arn"]}
        assert table["inputs"]["pointInTimeRecovery"]["enabled"] is True
        assert table["protect"]
    assert len(tables) == 3


def test_lease_table_capacity_follows_config(preview):
    run = preview(
        {"snowplow:enrich": {"leaseTable": {"billingMode": "PROVISIONED", "readCapacity": 7, "writeCapacity": 9}}}
    )
    (table,) = [t for t in of_type(run, "aws:dynamodb/table:Table") if t["inputs"]["name"] == "snowplow-test-enrich"]
    assert (table["inputs"]["billingMode"], table["inputs"]["readCapacity"], table["inputs"]["writeCapacity"]) == (
        "PROVISIONED",
        7,
        9,
    )


def test_app_policies_name_exact_arns_and_no_star(prod):
    for app in ("collector", "enrich", "s3-loader-enriched", "s3-loader-bad"):
        for statement in policy_of(prod, app)["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), (app, statement)
            assert "*" not in resources, (app, statement)


def test_collector_may_only_write_raw_and_bad_1(prod):
    kinesis = [s for s in policy_of(prod, "collector")["Statement"] if any("kinesis:" in a for a in s["Action"])]
    assert len(kinesis) == 1
    assert set(kinesis[0]["Action"]) == {
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:ListShards",
    }
    assert sorted(r.rsplit("/", 1)[1] for r in kinesis[0]["Resource"]) == ["snowplow-prod-bad-1", "snowplow-prod-raw"]


def test_prod_collector_redirects_http_to_tls13_https(prod):
    listeners = {
        listener["inputs"]["port"]: listener["inputs"]
        for listener in of_type(prod, "aws:lb/listener:Listener")
        if listener["name"].startswith("collector-")
    }
    assert listeners[80]["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ]
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[443]["defaultActions"][0]["type"] == "forward"
    (cert,) = [c for c in of_type(prod, "aws:acm/certificate:Certificate") if c["name"] == "collector-cert"]
    assert cert["inputs"]["validationMethod"] == "DNS"
    (alias,) = [r for r in of_type(prod, "aws:route53/record:Record") if r["name"] == "collector-alias"]
    assert alias["inputs"]["name"] == "collector.example.com"
    assert prod.outputs["collector_url"] == "https://collector.example.com"


def test_dev_collector_without_tls_serves_http_only(dev):
    (listener,) = of_type(dev, "aws:lb/listener:Listener")
    assert (listener["inputs"]["port"], listener["inputs"]["protocol"]) == (80, "HTTP")
    assert listener["inputs"]["defaultActions"][0]["type"] == "forward"
    assert dev.outputs["collector_url"] == f"http://{dev.outputs['collector_dns_name']}"
    assert of_type(dev, "aws:acm/certificate:Certificate") == []


def test_imported_certificate_gives_https_without_dns_records(preview):
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-aaaa-bbbb-cccc-123456789012"
    run = preview({"snowplow:collector": {"domain": "t.example.org", "certificateArn": arn}})
    https = [x for x in of_type(run, "aws:lb/listener:Listener") if x["inputs"]["port"] == 443]
    assert https[0]["inputs"]["certificateArn"] == arn
    assert of_type(run, "aws:route53/record:Record") == []
    assert run.outputs["collector_url"] == "https://t.example.org"


def test_a_certificate_without_a_domain_serves_https_on_the_load_balancers_own_name(preview):
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-aaaa-bbbb-cccc-123456789012"
    run = preview({"snowplow:collector": {"certificateArn": arn}})
    assert run.outputs["collector_url"] == f"https://{run.outputs['collector_dns_name']}"
    assert of_type(run, "aws:route53/record:Record") == []


def test_alb_drops_invalid_headers_and_logs_to_an_sse_s3_bucket_in_prod(prod, dev):
    (alb,) = [a for a in of_type(prod, "aws:lb/loadBalancer:LoadBalancer") if a["name"] == "collector-alb"]
    assert alb["inputs"]["dropInvalidHeaderFields"] is True and alb["inputs"]["internal"] is False
    assert alb["inputs"]["accessLogs"]["enabled"] is True
    sse = [
        r
        for r in of_type(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        # the Iglu Server's own ALB log bucket; Athena's results bucket (KMS, tested in test_analysis.py)
        if not r["name"].startswith(("iglu-server-", "analysis-"))
    ]
    algorithms = sorted(r["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] for r in sse)
    assert algorithms == ["AES256", "aws:kms", "aws:kms"]
    assert "accessLogs" not in of_type(dev, "aws:lb/loadBalancer:LoadBalancer")[0]["inputs"]


def test_launch_templates_require_imdsv2_encrypt_root_and_have_no_public_ip(prod):
    templates = of_type(prod, "aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 5  # collector, enrich, two S3 loaders, Iglu Server
    for template in templates:
        inputs = template["inputs"]
        assert inputs["metadataOptions"]["httpTokens"] == "required"
        (volume,) = inputs["blockDeviceMappings"]
        assert volume["ebs"]["encrypted"] == "true" and volume["ebs"]["kmsKeyId"] == prod.outputs["kms_key_arn"]
        assert inputs["networkInterfaces"][0]["associatePublicIpAddress"] == "false"


def test_no_ssh_anywhere_and_ssh_config_explains_session_manager(prod, dev, preview):
    for run in (prod, dev):
        ingress = of_type(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        assert not [r for r in ingress if r["inputs"]["fromPort"] <= 22 <= r["inputs"]["toPort"]]
        open_to_world = [r for r in ingress if r["inputs"].get("cidrIpv4") == "0.0.0.0/0"]
        assert {r["inputs"]["fromPort"] for r in open_to_world} <= {80, 443}
        assert not [t for t in of_type(run, "aws:ec2/launchTemplate:LaunchTemplate") if t["inputs"].get("keyName")]
    for value in (["10.0.0.0/8"], []):
        with pytest.raises(ConfigError) as raised:
            preview({"snowplow:operations": {"sshCidrs": value}})
        assert "snowplow:operations.sshCidrs: SSH was removed" in str(raised.value)
        assert "aws ssm start-session --target <instance-id>" in str(raised.value)


def test_app_instances_accept_traffic_only_from_the_load_balancer(prod):
    (alb_sg,) = [r for r in of_type(prod, "aws:ec2/securityGroup:SecurityGroup") if r["name"] == "collector-alb-sg"]
    app_ingress = [
        r
        for r in of_type(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith("collector-service")
    ]
    assert [(r["inputs"]["fromPort"], r["propertyDependencies"]["referencedSecurityGroupId"]) for r in app_ingress] == [
        (8080, [alb_sg["urn"]])
    ]


def test_secrets_stay_out_of_user_data_and_are_read_by_arn_at_boot(preview):
    run = preview(
        {
            "snowplow:enrich": {
                "enrichments": {
                    "currency_conversion_config": {
                        "apiKeySecretArn": SECRET,
                        "baseCurrency": "EUR",
                        "accountType": "DEVELOPER",
                    }
                }
            }
        }
    )
    conversion = files_of(run, "enrich")["enrichments/currency_conversion_config.json"]
    assert "{{resolve:secretsmanager:" + SECRET + "}}" in conversion
    boot = user_data(run, "enrich")
    assert SECRET not in boot and "resolve:secretsmanager" in boot
    (read_secret,) = [s for s in policy_of(run, "enrich")["Statement"] if s["Sid"] == "ReadReferencedSecrets"]
    assert read_secret["Resource"] == [SECRET] and read_secret["Action"] == "secretsmanager:GetSecretValue"
    assert "ReadReferencedSecrets" not in {s["Sid"] for s in policy_of(run, "collector")["Statement"]}


def test_no_user_data_carries_a_password_key_or_private_key(prod):
    for template in of_type(prod, "aws:ec2/launchTemplate:LaunchTemplate"):
        text = base64.b64decode(template["inputs"]["userData"]).decode().lower()
        for marker in ("password", "apikey", "api_key", "secret_key", "secretkey", "private key", "begin rsa"):
            assert marker not in text, (template["name"], marker)


def test_changing_a_rendered_file_rolls_only_that_app(preview):
    before = preview({"snowplow:enrich": {"enrichments": {"anon_ip": {"anonOctets": 1}}}})
    after = preview({"snowplow:enrich": {"enrichments": {"anon_ip": {"anonOctets": 2}}}})
    assert user_data(before, "enrich") != user_data(after, "enrich")
    assert user_data(before, "collector") == user_data(after, "collector")
    (group,) = [g for g in of_type(after, "aws:autoscaling/group:Group") if g["name"] == "enrich-service-asg"]
    assert group["inputs"]["instanceRefresh"]["strategy"] == "Rolling"
    assert group["propertyDependencies"]["launchTemplate"]


def test_container_is_pinned_and_memory_limited_to_the_instance(prod):
    boot = user_data(prod, "enrich")
    assert "snowplow/snowplow-enrich-kinesis:6." in boot
    assert "--memory=3276m" in boot  # c6i.large: 4096 MiB, 80% for the container


def test_more_consumers_than_shards_is_rejected(preview):
    with pytest.raises(ConfigError, match=r"snowplow:enrich.size.maxSize: 3 exceeds streams.shards.raw \(2\)"):
        preview({"snowplow:streams": {"shards": {"raw": 2}}, "snowplow:enrich": {"size": {"maxSize": 3}}})


def test_unknown_instance_type_is_rejected_naming_the_key(preview):
    with pytest.raises(
        ConfigError, match=r"snowplow:collector.size.instanceType: EC2 does not offer instance type 'c9z.huge'"
    ):
        preview({"snowplow:collector": {"size": {"instanceType": "c9z.huge"}}})


def test_bad_enrichment_config_is_rejected_naming_the_key(tmp_path, capsys):
    from offline import preview as preview_cli

    stack = write_stack(tmp_path, "x", {**BASE, "snowplow:enrich": {"enrichments": {"anon_ip": {"anonOctetz": 2}}}})
    assert preview_cli.main(["--config", str(stack)]) == 1
    assert "snowplow:enrich.enrichments.anon_ip.anonOctetz" in capsys.readouterr().err


def test_render_writes_one_folder_per_app(tmp_path, capsys):
    from offline import preview as preview_cli

    out = tmp_path / "render"
    assert preview_cli.main(["--stack", "prod", "--render", str(out), "--no-policy"]) == 0
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert "collector/collector.hocon" in written
    assert {"enrich/enrich.hocon", "enrich/iglu_resolver.json", "enrich/enrichments/anon_ip.json"} <= set(written)
    assert {"s3-loader-enriched/s3-loader.hocon", "s3-loader-bad/s3-loader.hocon"} <= set(written)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_rendered_enrichment_and_resolver_validates_against_its_schema(stack, tmp_path, iglu_central):
    from offline import preview as preview_cli
    from tests.test_enrichments import assert_valid_self_describing

    out = tmp_path / "render"
    assert preview_cli.main(["--stack", stack, "--render", str(out), "--no-policy"]) == 0
    documents = sorted(out.glob("*/enrichments/*.json")) + sorted(out.glob("*/iglu_resolver.json"))
    assert len(documents) >= 6
    for path in documents:
        assert_valid_self_describing(json.loads(path.read_text()))

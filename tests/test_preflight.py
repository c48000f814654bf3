"""`python -m ops.preflight` against moto's server, and botocore's Stubber where moto lacks an API."""

import datetime
import subprocess
import sys

import boto3
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from offline.engine import StackFile, stack_deployment
from ops import aws as ops_aws
from ops import preflight
from stack_config.model import StackConfig
from stack_config.secrets import referenced_secrets
from tests.aws_fakes import REGION, aws, moto_server
from tests.conftest import BASE, ROOT, write_stack
from tests.test_enrichments import FULL, SECRETS

ZONE_ID = "Z0123456789EXAMPLE"


def run(tmp_path, capsys, config: dict | None = None, stack: str = "test") -> tuple[int, str]:
    path = write_stack(tmp_path, stack, {**BASE, **(config or {})})
    code = preflight.main(["--config", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def lines(out: str, mark: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(mark)]


def create_service_linked_role() -> None:
    boto3.client("iam", region_name=REGION).create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")


def create_secret(name: str, value: str = "s3cr3t-value") -> str:
    return boto3.client("secretsmanager", region_name=REGION).create_secret(Name=name, SecretString=value)["ARN"]


def iglu_with_key(arn: str) -> dict:
    return {
        "snowplow:iglu": {"registries": [{"name": "acme", "uri": "https://iglu.acme.test/api", "apiKeySecretArn": arn}]}
    }


def stub_client(monkeypatch, service: str, responses: list[tuple[str, dict, dict | None]]) -> Stubber:
    """Answer `service` calls from canned responses; other services keep going to moto."""
    real = ops_aws.Clients.__call__
    stubbed = boto3.client(service, region_name=REGION)
    stubber = Stubber(stubbed)
    for method, response, params in responses:
        if "Error" in response:
            stubber.add_client_error(method, service_error_code=response["Error"], expected_params=params)
        else:
            stubber.add_response(method, response, params)
    stubber.activate()
    monkeypatch.setattr(
        ops_aws.Clients,
        "__call__",
        lambda self, name, region=None: stubbed if name == service else real(self, name, region),
    )
    return stubber


def test_dev_stack_passes_every_check(aws, tmp_path, capsys):
    create_service_linked_role()
    arn = create_secret("snowplow/iglu-read-key")
    code, out = run(tmp_path, capsys, iglu_with_key(arn))
    assert code == preflight.EXIT_OK, out
    assert "PASS  credentials            account 123456789012" in out
    assert "PASS  region                 eu-west-1 (opt-in-not-required)" in out
    assert "SKIP  certificate            the collector has no TLS configured (plain HTTP)" in out
    assert "PASS  instance types         t3a.micro, t3a.small offered in eu-west-1a, eu-west-1b" in out
    assert "PASS  kinesis quota          shards: 0 of 6000 open, 5 planned (5 new)" in out  # raw: 2 for 100 events/s
    assert "PASS  autoscaling role       arn:aws:iam::123456789012:role/aws-service-role/" in out
    assert (
        "PASS  secret                 snowplow/iglu-read-key readable (snowplow:iglu.registries[0].apiKeySecretArn)"
        in out
    )
    assert "s3cr3t-value" not in out
    assert out.splitlines()[-1] == "preflight OK: 6 passed, 1 skipped"


def test_missing_role_and_secret_fail_with_the_fix(aws, tmp_path, capsys):
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:snowplow/gone-AbCdEf"
    code, out = run(tmp_path, capsys, iglu_with_key(arn))
    assert code == preflight.EXIT_FAILED
    assert "FAIL  autoscaling role       AWSServiceRoleForAutoScaling does not exist" in out
    assert "fix: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com" in out
    assert (
        f"FAIL  secret                 {arn} (snowplow:iglu.registries[0].apiKeySecretArn): ResourceNotFoundException"
        in out
    )
    assert out.splitlines()[-1] == "preflight FAILED: 4 passed, 2 failed, 1 skipped"


def test_instance_type_missing_in_an_az_names_the_key(aws, tmp_path, capsys):
    create_service_linked_role()
    azs = {
        z["ZoneName"]
        for z in boto3.client("ec2", region_name=REGION).describe_availability_zones()["AvailabilityZones"]
    }
    offered = {
        o["Location"]
        for o in boto3.client("ec2", region_name=REGION).describe_instance_type_offerings(
            LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["a1.large"]}]
        )["InstanceTypeOfferings"]
    }
    assert azs - offered, "moto's data no longer has a type missing from one eu-west-1 AZ; pick another"
    config = {"snowplow:network": {"create": {"azs": 3}}, "snowplow:enrich": {"size": {"instanceType": "a1.large"}}}
    code, out = run(tmp_path, capsys, config)
    assert code == preflight.EXIT_FAILED
    (line,) = lines(out, "FAIL  instance types")
    assert "snowplow:enrich.size.instanceType a1.large is not offered in " in line
    assert all(az in line for az in azs - offered)


def test_every_app_the_stack_runs_has_its_instance_type_checked(tmp_path):
    iglu = {"server": {"enabled": True, "size": {"instanceType": "t3a.micro"}}}
    postgres = {"postgres": {"enabled": True, "size": {"instanceType": "m7g.medium"}}}
    path = write_stack(tmp_path, "apps", {**BASE, "snowplow:iglu": iglu, "snowplow:destinations": postgres})
    wanted = preflight.instance_types(stack_deployment(StackFile.read(path)))
    assert wanted["snowplow:iglu.server.size.instanceType"] == "t3a.micro"
    assert wanted["snowplow:destinations.postgres.size.instanceType"] == "m7g.medium"
    assert len(wanted) == 6


def test_region_not_enabled(aws, tmp_path, capsys):
    create_service_linked_role()
    code, out = run(tmp_path, capsys, {"aws:region": "ap-east-1"})
    assert code == preflight.EXIT_FAILED
    assert "FAIL  region                 ap-east-1 is not-opted-in" in out
    assert "fix: aws account enable-region --region-name ap-east-1" in out


def test_no_credentials_skips_the_rest(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out = run(tmp_path, capsys)
    assert code == preflight.EXIT_FAILED
    assert "FAIL  credentials            no AWS credentials found" in out
    assert len(lines(out, "SKIP")) == len(preflight.CHECKS)


def test_shard_quota_without_room(aws, tmp_path, capsys, monkeypatch):
    create_service_linked_role()
    limits = {"ShardLimit": 500, "OpenShardCount": 498, "OnDemandStreamCount": 0, "OnDemandStreamCountLimit": 50}
    missing = {"Error": "ResourceNotFoundException"}
    stub_client(
        monkeypatch,
        "kinesis",
        [("describe_limits", limits, {})]
        + [
            ("describe_stream_summary", missing, {"StreamName": f"snowplow-test-{s}"})
            for s in ("raw", "enriched", "bad-1", "bad-2")
        ],
    )
    code, out = run(tmp_path, capsys)
    assert code == preflight.EXIT_FAILED
    assert "FAIL  kinesis quota          shards: 498 of 500 open, 5 planned (5 new)" in out
    assert "fix: request a higher Kinesis shard quota" in out


def test_existing_streams_count_only_their_added_shards(aws, tmp_path, capsys):
    create_service_linked_role()
    kinesis = boto3.client("kinesis", region_name=REGION)
    for suffix in ("raw", "enriched", "bad-1", "bad-2"):
        kinesis.create_stream(StreamName=f"snowplow-test-{suffix}", ShardCount=1)
    code, out = run(tmp_path, capsys, {"snowplow:streams": {"shards": {"raw": 2, "enriched": 2}}})
    assert code == preflight.EXIT_OK, out
    # moto's DescribeLimits does not count open shards; the stack's own streams are what matter here
    assert "PASS  kinesis quota          shards: 0 of 6000 open, 6 planned (2 new)" in out


def _certificate(domain: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def _tls(arn: str, domain: str = "collector.example.com") -> dict:
    return {"snowplow:collector": {"domain": domain, "certificateArn": arn}}


def test_issued_certificate_passes_and_a_pending_one_fails(aws, tmp_path, capsys):
    create_service_linked_role()
    acm = boto3.client("acm", region_name=REGION)
    cert, key = _certificate("*.example.com")
    issued = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    code, out = run(tmp_path, capsys, _tls(issued))
    assert code == preflight.EXIT_OK, out
    assert f"PASS  certificate            {issued} ISSUED for *.example.com" in out

    code, out = run(tmp_path, capsys, _tls(issued, domain="collector.other.test"))
    assert f"FAIL  certificate            {issued} covers *.example.com, not collector.other.test" in out

    pending = acm.request_certificate(DomainName="collector.example.com", ValidationMethod="DNS")["CertificateArn"]
    code, out = run(tmp_path, capsys, _tls(pending))
    assert code == preflight.EXIT_FAILED
    assert f"FAIL  certificate            {pending} (collector.example.com) is PENDING_VALIDATION, not ISSUED" in out


def test_certificate_in_another_region_is_a_stack_file_error(aws, tmp_path, capsys):
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-00000000abcd"
    code, out = run(tmp_path, capsys, _tls(arn))
    assert code == preflight.EXIT_CONFIG
    assert "snowplow:collector.certificateArn" in out and "eu-west-1" in out
    assert "PASS" not in out  # nothing is asked of AWS for a stack file the program would reject


@pytest.mark.parametrize(
    "zone,domain,expected",
    [
        ({"Name": "example.com.", "Config": {"PrivateZone": False}}, "collector.example.com", "PASS  hosted zone"),
        ({"Name": "other.test.", "Config": {"PrivateZone": False}}, "collector.example.com", "is not inside it"),
        ({"Name": "example.com.", "Config": {"PrivateZone": True}}, "collector.example.com", "is private"),
        (None, "collector.example.com", "NoSuchHostedZone"),
    ],
)
def test_hosted_zone(aws, tmp_path, capsys, monkeypatch, zone, domain, expected):
    create_service_linked_role()
    if zone is None:
        response = {"Error": "NoSuchHostedZone"}
    else:
        hosted = {"Id": f"/hostedzone/{ZONE_ID}", "CallerReference": "x", **zone}
        response = {"HostedZone": hosted, "DelegationSet": {"NameServers": ["ns-1.example"]}}
    stubber = stub_client(monkeypatch, "route53", [("get_hosted_zone", response, {"Id": ZONE_ID})])
    code, out = run(tmp_path, capsys, {"snowplow:collector": {"domain": domain, "hostedZoneId": ZONE_ID}})
    stubber.assert_no_pending_responses()
    assert expected in out
    assert code == (preflight.EXIT_OK if expected.startswith("PASS") else preflight.EXIT_FAILED), out


def test_invalid_config_is_named_before_any_aws_call(tmp_path, capsys):
    code, out = run(tmp_path, capsys, {"snowplow:streams": {"shards": {"raw": 0}}})
    assert code == preflight.EXIT_CONFIG
    assert "snowplow:streams.shards.raw" in out


def test_referenced_secrets_cover_enrichments_and_iglu():
    iglu_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:iglu-AbCdEf"
    config = StackConfig.model_validate(
        {
            "environment": "dev",
            "acceptLimitedUseLicense": True,
            "enrich": {"enrichments": FULL},
            **{"iglu": iglu_with_key(iglu_arn)["snowplow:iglu"]},
        },
        context={"environment": "dev"},
    )
    found = referenced_secrets(config)
    assert set(found) == set(config.enrich.enrichments.secret_arns()) | set(config.iglu.secret_arns())
    assert set(found) == {*SECRETS, iglu_arn}
    assert found[iglu_arn] == ["snowplow:iglu.registries[0].apiKeySecretArn"]
    pii = next(arn for arn in SECRETS if "pii" in arn)
    assert found[pii] == ["snowplow:enrich.enrichments.pii_enrichment_config.strategy.pseudonymize.saltSecretArn"]


def test_preflight_module_runs_as_a_command():
    done = subprocess.run([sys.executable, "-m", "ops.preflight", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    assert "Exit codes: 0 every check passed" in done.stdout


def test_secrets_can_be_checked_without_reading_values(aws, tmp_path, capsys):
    create_service_linked_role()
    arn = create_secret("snowplow/iglu-read-key")
    path = write_stack(tmp_path, "test", {**BASE, **iglu_with_key(arn)})
    assert preflight.main(["--config", str(path), "--no-secret-values"]) == preflight.EXIT_OK
    assert "PASS  secret                 snowplow/iglu-read-key exists (" in capsys.readouterr().out


def test_stack_file_without_a_region_uses_aws_region_like_the_program(tmp_path, monkeypatch):
    config = {k: v for k, v in BASE.items() if k != "aws:region"}
    path = write_stack(tmp_path, "noregion", config)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert stack_deployment(StackFile.read(path)).region == "eu-central-1"

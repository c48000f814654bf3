"""The pack knows every pulumi-aws type that carries a setting it guards, as the SDK in .venv defines them.

`policies/aws_types.json` is generated from the SDK (tests/sdk_types.py); when pulumi-aws grows a type with
`tags`, `metadata_options`, `root_block_device`, `user_data`, `associate_public_ip_address`, ... the regenerated
file differs and this test names the types to review. The rules take their type lists from that file, so a
regenerated file extends them; the lists the pack spells out itself are compared with the SDK here.
"""

import json
import re
import sys
from pathlib import Path

import pytest

from tests import sdk_types

PACK = Path(__file__).resolve().parent.parent / "policies"
sys.path.insert(0, str(PACK))

import snowplow_aws_types  # noqa: E402
import snowplow_data_protection  # noqa: E402
import snowplow_encryption  # noqa: E402
import snowplow_iam  # noqa: E402
import snowplow_network  # noqa: E402
import snowplow_observability  # noqa: E402
import snowplow_policy_util  # noqa: E402
import snowplow_sizing  # noqa: E402


@pytest.fixture(scope="module")
def sdk():
    return sdk_types.read_sdk(sdk_types.sdk_root())


@pytest.fixture(scope="module")
def generated(sdk):
    return sdk_types.generate(sdk)


def test_committed_type_file_matches_the_sdk(generated):
    committed = json.loads(sdk_types.DATA_FILE.read_text())
    if committed == generated:
        return
    problems = [f"SDK {committed['sdk']} -> {generated['sdk']}"]
    for name, now in generated["carriers"].items():
        before = committed["carriers"].get(name, {})
        if now != before:
            problems.append(f"{name}: new {sorted(set(now) - set(before))}, gone {sorted(set(before) - set(now))}")
    new_taggable = sorted(set(generated["taggable"]) - set(committed["taggable"]))
    problems.append(f"taggable: {len(new_taggable)} new, e.g. {new_taggable[:5]}")
    pytest.fail(
        "policies/aws_types.json is stale; review and run `python -m tests.sdk_types --write`:\n" + "\n".join(problems)
    )


def test_every_type_with_a_tags_input_is_taggable(sdk, generated):
    resources, _ = sdk
    with_tags = {token for token, (_, props) in resources.items() if "tags" in props}
    assert with_tags == set(generated["taggable"]) == snowplow_aws_types.TAGGABLE
    assert {"aws:lambda/function:Function", "aws:ecr/repository:Repository"} <= with_tags


@pytest.mark.parametrize(
    "setting, python_name",
    [
        ("http_tokens", "metadata_options"),
        ("root_block_device", "root_block_device"),
        ("user_data", "user_data"),
        ("associate_public_ip_address", "associate_public_ip_address"),
    ],
)
def test_every_carrier_of_a_host_setting_is_guarded(sdk, setting, python_name):
    """Direct check against the SDK: each type with the input at top level is in the carrier list."""
    resources, _ = sdk
    top_level = {t for t, (module, props) in resources.items() if python_name in props and module == "ec2"}
    assert top_level <= set(snowplow_aws_types.carriers(setting))


def test_lists_the_pack_spells_out_match_the_sdk():
    carriers = snowplow_aws_types.carriers
    assert set(snowplow_policy_util.LB_LISTENERS) == set(carriers("ssl_policy"))
    assert set(snowplow_policy_util.OPENSEARCH_DOMAINS) == set(carriers("encrypt_at_rest"))
    access_log_types = {*snowplow_policy_util.LBS, snowplow_policy_util.CLASSIC_ELB}
    assert access_log_types == set(carriers("access_logs"))
    # The SSE-S3 log-sink rules read every log block as a load balancer's, and every target_bucket as S3's.
    assert {*carriers("connection_logs"), *carriers("health_check_logs")} <= access_log_types
    assert all(t.startswith("aws:s3/") for t in carriers("target_bucket")), carriers("target_bucket")
    imds = {
        *snowplow_network.IMDS_TEMPLATES,
        *snowplow_network.IMDS_INSTANCES,
        snowplow_policy_util.INSTANCE_METADATA_DEFAULTS,
    }
    assert imds == set(carriers("http_tokens"))
    public_ip = {*snowplow_network.PUBLIC_IP_TEMPLATES, *snowplow_network.PUBLIC_IP_INSTANCES}
    assert public_ip == set(carriers("associate_public_ip_address"))
    volumes = {*snowplow_encryption.DEVICE_CARRIERS, *snowplow_encryption.EBS_DEVICE_CARRIERS}
    assert volumes == {*carriers("root_block_device"), *carriers("root_block_devices"), *carriers("ebs_block_devices")}
    assert set(snowplow_network.USER_DATA_CARRIERS) == {*carriers("user_data"), *carriers("user_data_base64")}
    databases = {*snowplow_network.DATABASE_PUBLIC_TYPES, *snowplow_network.REDSHIFT_PUBLIC_TYPES}
    assert databases == set(carriers("publicly_accessible"))
    assert set(snowplow_sizing.COMPUTE_TYPES) == {*carriers("instance_type"), *carriers("instance_requirements")}
    assert set(snowplow_iam.ATTACHMENT_CARRIERS) == {
        *carriers("policy_arn"),
        *carriers("policy_arns"),
        *carriers("managed_policy_arns"),
    }
    assert set(snowplow_iam.KEY_POLICY_TYPES) == set(carriers("bypass_policy_lockout_safety_check"))


def test_alias_types_are_covered_with_their_canonical_type(generated):
    equivalents = generated["equivalents"]
    assert equivalents["aws:alb/listener:Listener"] == "aws:lb/listener:Listener"
    assert equivalents["aws:alb/loadBalancer:LoadBalancer"] == "aws:lb/loadBalancer:LoadBalancer"
    assert equivalents["aws:elasticsearch/domain:Domain"] == "aws:opensearch/domain:Domain"
    assert equivalents["aws:s3/bucketV2:BucketV2"] == "aws:s3/bucket:Bucket"
    for alias in ("VersioningV2", "ServerSideEncryptionConfigurationV2", "AclV2"):
        assert any(a.endswith(f"Bucket{alias}") for a in equivalents)
    for canonical in (snowplow_policy_util.S3_SSE, snowplow_policy_util.S3_VERSIONING, snowplow_policy_util.LB):
        assert len(snowplow_aws_types.variants(canonical)) == 2


def test_every_type_token_the_pack_names_exists(sdk):
    resources, _ = sdk
    named = set()
    for module in (
        snowplow_policy_util,
        snowplow_encryption,
        snowplow_network,
        snowplow_iam,
        snowplow_sizing,
        snowplow_data_protection,
        snowplow_observability,
    ):
        source = Path(module.__file__).read_text()
        named |= set(re.findall(r'"(aws:[a-z0-9]+/[A-Za-z0-9]+:[A-Za-z0-9]+)"', source))
    assert named and named <= set(resources), sorted(named - set(resources))


def test_stateful_types_include_the_aliases():
    assert {"aws:s3/bucketV2:BucketV2", "aws:elasticsearch/domain:Domain"} <= set(
        snowplow_data_protection.STATEFUL_TYPES
    )

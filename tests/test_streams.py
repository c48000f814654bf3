"""Kinesis streams: four of them, KMS with the stack key, protected in prod."""

from tests.conftest import of_type

STREAM = "aws:kinesis/stream:Stream"


def stream_inputs(run):
    return {r["inputs"]["name"]: r for r in of_type(run, STREAM)}


def test_four_streams_provisioned_with_configured_shards(preview):
    run = preview({"snowplow:streams": {"shards": {"raw": 3, "enriched": 2, "bad1": 1, "bad2": 1}}})
    streams = stream_inputs(run)
    assert {n: s["inputs"]["shardCount"] for n, s in streams.items()} == {
        "snowplow-test-raw": 3,
        "snowplow-test-enriched": 2,
        "snowplow-test-bad-1": 1,
        "snowplow-test-bad-2": 1,
    }
    assert {s["inputs"]["streamModeDetails"]["streamMode"] for s in streams.values()} == {"PROVISIONED"}


def test_on_demand_streams_have_no_shard_count(preview):
    streams = stream_inputs(preview({"snowplow:streams": {"mode": "ON_DEMAND"}}))
    assert len(streams) == 4
    for stream in streams.values():
        assert "shardCount" not in stream["inputs"]
        assert stream["inputs"]["streamModeDetails"] == {"streamMode": "ON_DEMAND"}


def test_streams_are_encrypted_with_the_stack_key(preview):
    run = preview()
    (key,) = of_type(run, "aws:kms/key:Key")
    for stream in of_type(run, STREAM):
        assert stream["inputs"]["encryptionType"] == "KMS"
        assert stream["inputs"]["kmsKeyId"] == run.outputs["kms_key_arn"]
        assert key["urn"] in stream["propertyDependencies"]["kmsKeyId"]


def test_retention_follows_config(preview):
    streams = stream_inputs(preview({"snowplow:streams": {"retentionHours": 72}}))
    assert {s["inputs"]["retentionPeriod"] for s in streams.values()} == {72}


def test_prod_protects_and_retains_streams_and_key_dev_does_not(preview):
    prod = preview(
        {
            "snowplow:environment": "prod",
            "snowplow:network": {"create": {"azs": 2}},
            "snowplow:iglu": {"server": {"enabled": False}},
        },
        stack="prod",
    )
    dev = preview()
    for run, expected in ((prod, True), (dev, False)):
        for resource in of_type(run, STREAM) + of_type(run, "aws:kms/key:Key"):
            assert (resource["protect"], resource["retainOnDelete"]) == (expected, expected), resource["urn"]
    assert {s["inputs"]["retentionPeriod"] for s in of_type(prod, STREAM)} == {168}


def test_key_rotates_and_has_a_stack_alias(preview):
    run = preview(stack="analytics")
    (key,) = of_type(run, "aws:kms/key:Key")
    (alias,) = of_type(run, "aws:kms/alias:Alias")
    assert key["inputs"]["enableKeyRotation"] is True
    assert alias["inputs"]["name"] == "alias/snowplow-analytics-data"

"""The benchmark's floor program registers exactly the plan it is given, through the provider SDK's classes."""

from bench.floor import provider_class, provider_module, run_floor


def test_type_tokens_map_to_the_provider_modules_a_program_imports():
    assert provider_module("aws:s3/bucketV2:BucketV2") == "pulumi_aws.s3"
    assert provider_module("random:index/randomPassword:RandomPassword") == "pulumi_random"
    assert provider_module("snowplow:platform:Network") is None
    assert provider_class("aws:kinesis/stream:Stream").__name__ == "Stream"


def test_the_floor_registers_every_resource_of_the_plan():
    component = {
        "urn": "urn:c",
        "type": "snowplow:platform:Streams",
        "name": "streams",
        "custom": False,
        "parent": None,
    }
    stream = {
        "urn": "urn:s",
        "type": "aws:kinesis/stream:Stream",
        "name": "raw",
        "custom": True,
        "parent": "urn:c",
        "inputs": {"shardCount": 1, "encryptionType": "KMS", "kmsKeyId": "alias/x"},
        "protect": True,
    }
    # A required input missing from the plan (an output unknown when recorded) gets a placeholder.
    attachment = {
        "urn": "urn:p",
        "type": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "name": "attach",
        "custom": True,
        "parent": "urn:c",
        "inputs": {"role": "r"},
    }
    stack = {"urn": "urn:stack", "type": "pulumi:pulumi:Stack", "name": "p-s", "custom": False, "parent": None}
    seen = run_floor([stream, attachment, component, stack], "eu-west-1", "snowplow", "floor")
    assert sorted(seen) == sorted([*(r["type"] for r in (component, stream, attachment)), "pulumi:pulumi:Stack"])

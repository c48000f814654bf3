"""Every taggable AWS resource carries the stack's tags in its own inputs."""

import importlib
import inspect

import pytest

from tests.conftest import of_type


def accepts_tags(type_token: str) -> bool:
    """Ask the pulumi-aws SDK whether this resource type has a `tags` argument."""
    package, module_and_name = type_token.split(":", 1)
    module, name = module_and_name.split(":")
    module = module.split("/")[0]
    cls = getattr(importlib.import_module(f"pulumi_aws.{module}" if module != "index" else "pulumi_aws"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_taggable_resource_has_stack_and_user_tags(preview, environment):
    overrides = {
        "snowplow:environment": environment,
        "snowplow:tags": {"owner": "data-platform", "cost-center": "42"},
        "snowplow:iglu": {
            "server": {"enabled": True, "domain": "iglu.example.com", "hostedZoneId": "Z0123456789EXAMPLE"}
        },
    }
    run = preview(overrides, stack=environment)
    taggable = [r for r in run.resources if r["type"].startswith("aws:") and accepts_tags(r["type"])]
    assert len(taggable) >= 15
    expected = {"project": "snowplow", "stack": environment, "environment": environment, "owner": "data-platform"}
    for resource in taggable:
        tags = resource["inputs"].get("tags")
        assert tags is not None, f"{resource['urn']} has no tags"
        if isinstance(tags, list):  # autoscaling groups take a list of {key, value, propagateAtLaunch}
            tags = {t["key"]: t["value"] for t in tags}
        assert expected.items() <= tags.items(), resource["urn"]
        assert tags["cost-center"] == "42"


def test_tags_include_a_name(preview):
    (vpc,) = of_type(preview(), "aws:ec2/vpc:Vpc")
    assert vpc["inputs"]["tags"]["Name"] == "snowplow-test-vpc"

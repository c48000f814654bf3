"""What the pack's shared helpers (policies/snowplow_policy_util.py) decide, seen where a pack user sees it: which
resource a rule flags, the place in the resource its message names, and what the message says is wrong."""

import base64

from tests.policy_helpers import (
    BUCKET,
    INSTANCE,
    OPENSEARCH,
    SG,
    TAGS,
    TOPIC,
    assert_passes,
    assert_violates,
    good_asg,
    good_bucket_set,
    good_launch_template,
    pack,  # noqa: F401  (session fixture)
    resource,
    tls_only_policy,
)

SUBNET = "aws:ec2/subnet:Subnet"
SPOT_FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest"
INSTANCE_TYPES = "ec2-compute-restrict-instance-types"
PUBLIC_INGRESS = "ec2-security-group-restrict-public-ingress"
SIZING = {INSTANCE_TYPES: {"allowedFamilies": ["t3", "m7i"], "maxSize": "xlarge"}}


def only_message(found: list) -> str:
    (violation,) = found
    return violation["message"].splitlines()[-1]


def test_a_resource_without_a_key_is_told_that_no_key_is_set(pack):
    topic = resource(TOPIC, "alerts", {"tags": TAGS})
    message = only_message(assert_violates(pack, "sns-topic-require-kms", [topic]))
    assert (
        message == "SNS topic 'alerts' is not encrypted with a suitable key: no KMS key is set; set kms_master_key_id."
    )

    domain = resource(OPENSEARCH, "search", {"encryptAtRest": {"enabled": True}, "tags": TAGS})
    config = {"opensearch-domain-require-encryption": {"requireCustomerManagedKey": True}}
    message = only_message(assert_violates(pack, "opensearch-domain-require-encryption", [domain], config=config))
    assert message == (
        "Search domain 'search' encrypts at rest, but no KMS key is set, so the AWS-managed key is used; "
        "set encrypt_at_rest.kms_key_id."
    )


def test_a_public_ip_in_the_first_of_several_specifications_is_named_by_its_place(pack):
    fleet = resource(
        SPOT_FLEET,
        "fleet",
        {
            "launchSpecifications": [
                {"instanceType": "t3.small", "associatePublicIpAddress": True},
                {"instanceType": "t3.small", "associatePublicIpAddress": False},
            ],
            "tags": TAGS,
        },
    )
    message = only_message(assert_violates(pack, "ec2-launch-template-forbid-public-ip", [fleet]))
    assert message.startswith(
        f"'fleet' ({SPOT_FLEET}) gives its instances a public IP (launch_specifications[0].associate_public_ip_address);"
    )


def test_instance_types_are_ranked_by_size_and_named_by_their_place(pack):
    asg = good_asg(
        mixedInstancesPolicy={
            "launchTemplate": {
                "overrides": [{"instanceType": "m7i.xlarge"}, {"instanceType": "m7i.2xlarge"}],
            }
        }
    )
    message = only_message(assert_violates(pack, INSTANCE_TYPES, [asg], config=SIZING))
    assert message.startswith(
        "'enrich-asg' uses mixed_instances_policy.launch_template.overrides[1].instance_type 'm7i.2xlarge': "
        "size '2xlarge' is larger than the maximum 'xlarge'."
    )

    metal = good_launch_template(instanceType="m7i.metal-24xl")
    config = {INSTANCE_TYPES: {"allowedFamilies": ["m7i"], "maxSize": "24xlarge"}}
    message = only_message(assert_violates(pack, INSTANCE_TYPES, [metal], config=config))
    assert "'m7i.metal-24xl': size 'metal-24xl' is larger than the maximum '24xlarge'." in message
    assert_passes(pack, INSTANCE_TYPES, [good_launch_template(instanceType="m7i.24xlarge")], config=config)

    malformed = good_launch_template(instanceType="m7i")
    message = only_message(assert_violates(pack, INSTANCE_TYPES, [malformed], config=SIZING))
    assert "'m7i': 'm7i' is not a recognised instance type." in message


def test_an_instance_is_judged_by_the_subnet_it_is_placed_in(pack):
    public = resource(SUBNET, "public", {"mapPublicIpOnLaunch": True, "tags": TAGS})
    private = resource(SUBNET, "private", {"mapPublicIpOnLaunch": False, "tags": TAGS})
    group = resource(SG, "box-sg", {"description": "box", "tags": TAGS})
    rule = "ec2-instance-forbid-public-ip"
    expected = (
        f"'box' ({INSTANCE}) gets a public IP (its subnet maps public IPs on launch); set "
        "associate_public_ip_address=False and place it in a private subnet."
    )

    # subnetId names the public subnet; the instance also waits for another subnet
    placed = resource(
        INSTANCE,
        "box",
        {"subnetId": "subnet-1", "tags": TAGS},
        deps=[private, public],
        prop_deps={"subnetId": [public]},
    )
    found = assert_violates(pack, rule, [public, private, placed], urn=placed["urn"])
    assert only_message(found) == expected

    # without propertyDependencies, the one subnet among its dependencies is the instance's subnet
    only_dependency = resource(INSTANCE, "box", {"subnetId": "subnet-1", "tags": TAGS}, deps=[group, public])
    assert only_message(assert_violates(pack, rule, [public, group, only_dependency], urn=only_dependency["urn"])) == (
        expected
    )

    # two subnets among plain dependencies: which one holds the instance is not known, so no verdict is guessed
    ambiguous = resource(INSTANCE, "box", {"subnetId": "subnet-1", "tags": TAGS}, deps=[private, public])
    assert_passes(pack, rule, [public, private, ambiguous])


def test_a_tls_only_policy_written_inline_on_the_bucket_counts(pack):
    bucket = resource(
        BUCKET, "data", {"bucket": "snowplow-test-data", "policy": tls_only_policy("snowplow-test-data"), "tags": TAGS}
    )
    parts = good_bucket_set("data", policy=None)[1:]
    assert_passes(pack, "s3-bucket-require-tls-only-policy", [bucket, *parts])
    bare = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    assert_violates(pack, "s3-bucket-require-tls-only-policy", [bare, *parts], urn=bare["urn"])


def test_user_data_that_is_not_utf8_is_still_read(pack):
    script = "#!/bin/bash\n# café\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n".encode("latin-1")
    template = good_launch_template(userData=base64.b64encode(script).decode())
    message = only_message(assert_violates(pack, "ec2-user-data-forbid-plaintext-secrets", [template]))
    assert message.startswith("User data of 'enrich-lt' (user_data) writes out")
    assert "on line 3;" in message


def test_the_allowed_public_ports_are_quoted_as_configured(pack):
    """Config numbers arrive from the CLI as floats (443.0); the message quotes the ports as the user wrote them."""
    ssh = resource(
        SG,
        "app-sg",
        {
            "description": "app",
            "ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}],
        },
    )
    for config, ports in ((None, "[80, 443]"), ({PUBLIC_INGRESS: {"allowedPublicPorts": [8443, 443]}}, "[443, 8443]")):
        message = only_message(assert_violates(pack, PUBLIC_INGRESS, [ssh], config=config))
        assert f"only load balancer security groups may be open to the internet, on tcp {ports}. Restrict" in message


def test_a_bucket_setting_belongs_to_the_bucket_its_bucket_input_names(pack):
    """The encryption of 'data' waits for the log bucket too: it is still the data bucket's (its `bucket` input)."""
    logs = good_bucket_set("logs")
    data = good_bucket_set("data")
    sse = data[1]
    sse["dependencies"] = [data[0]["urn"], logs[0]["urn"]]
    assert sse["propertyDependencies"] == {"bucket": [data[0]["urn"]]}
    assert_passes(pack, "s3-bucket-require-sse-kms", [*data, *logs])


def test_a_bucket_setting_follows_its_input_even_where_two_buckets_share_a_name(pack):
    """Its `bucket` input's dependency decides, not the physical name (here shared, as in a plan holding copies)."""
    first, second = good_bucket_set("data"), good_bucket_set("data")
    for part in second:
        part["urn"] += "-copy"
    for part in second[1:]:
        part["dependencies"] = [second[0]["urn"]]
        part["propertyDependencies"] = {"bucket": [second[0]["urn"]]}
        part["inputs"]["bucket"] = "snowplow-test-data"
    assert_passes(pack, "s3-bucket-require-sse-kms", [*second, *first])  # the name now finds the first bucket

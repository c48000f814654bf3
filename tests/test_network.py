"""Network component: a new VPC across AZs, or an adopted one that is checked first."""

import pytest

from offline.mocks import SnowplowMocks
from stack_config import ConfigError
from tests.conftest import of_type

EXISTING = {
    "existing": {
        "vpcId": "vpc-0123456789abcdef0",
        "publicSubnetIds": ["subnet-0a0000000000000a1", "subnet-0a0000000000000a2"],
        "privateSubnetIds": ["subnet-0b0000000000000b1", "subnet-0b0000000000000b2"],
    }
}


def mocks_for_existing(**kwargs) -> SnowplowMocks:
    return SnowplowMocks("eu-west-1", default_vpc_id=EXISTING["existing"]["vpcId"], **kwargs)


def test_created_vpc_spans_azs_with_public_and_private_subnets(preview):
    run = preview({"snowplow:network": {"create": {"cidr": "10.60.0.0/16", "azs": 3, "natGateways": 2}}})
    subnets = of_type(run, "aws:ec2/subnet:Subnet")
    tiers = {(s["inputs"]["tags"]["tier"], s["inputs"]["availabilityZone"]) for s in subnets}
    assert tiers == {(t, f"eu-west-1{z}") for t in ("public", "private") for z in "abc"}
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in subnets)
    assert len({s["inputs"]["cidrBlock"] for s in subnets}) == 6
    assert of_type(run, "aws:ec2/vpc:Vpc")[0]["inputs"]["cidrBlock"] == "10.60.0.0/16"
    assert len(of_type(run, "aws:ec2/natGateway:NatGateway")) == 2


def test_private_route_tables_go_through_nat_and_reach_s3_and_dynamodb_privately(preview):
    run = preview({"snowplow:network": {"create": {"azs": 2, "natGateways": 1}}})
    nat = of_type(run, "aws:ec2/natGateway:NatGateway")
    assert len(nat) == 1
    private_rts = [r for r in of_type(run, "aws:ec2/routeTable:RouteTable") if "private" in r["name"]]
    assert len(private_rts) == 2
    assert all(rt["inputs"]["routes"][0].get("natGatewayId") for rt in private_rts)
    endpoints = {e["inputs"]["serviceName"]: e["inputs"] for e in of_type(run, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    gateways = {name: e for name, e in endpoints.items() if e["vpcEndpointType"] == "Gateway"}
    assert set(gateways) == {"com.amazonaws.eu-west-1.s3", "com.amazonaws.eu-west-1.dynamodb"}
    assert all(len(e["routeTableIds"]) == 2 for e in gateways.values())


def test_kinesis_goes_through_an_interface_endpoint_where_cheaper_than_nat(preview):
    busy = preview({"snowplow:traffic": {"peakEventsPerSecond": 100}})
    (kinesis,) = [
        e["inputs"]
        for e in of_type(busy, "aws:ec2/vpcEndpoint:VpcEndpoint")
        if e["inputs"]["vpcEndpointType"] == "Interface"
    ]
    assert kinesis["serviceName"] == "com.amazonaws.eu-west-1.kinesis-streams"
    assert kinesis["privateDnsEnabled"] is True and len(kinesis["subnetIds"]) == 2
    quiet = preview({"snowplow:traffic": {"peakEventsPerSecond": 5}})
    assert all(e["inputs"]["vpcEndpointType"] == "Gateway" for e in of_type(quiet, "aws:ec2/vpcEndpoint:VpcEndpoint"))


def test_default_security_group_is_locked_down(preview):
    (default_sg,) = of_type(preview(), "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default_sg["inputs"] and "egress" not in default_sg["inputs"]


def test_existing_vpc_is_adopted_without_creating_network_resources(preview):
    run = preview({"snowplow:network": EXISTING})
    network_parts = ("vpc:", "subnet:", "internetGateway:", "natGateway:", "eip:", "routeTable", "vpcEndpoint:")
    built = {
        r["type"]
        for r in run.resources
        if r["type"].startswith("aws:ec2/") and any(p in r["type"] for p in network_parts)
    }
    assert built == set()
    vpc_refs = {r["inputs"]["vpcId"] for r in run.resources if "vpcId" in r["inputs"]}
    assert vpc_refs == {"vpc-0123456789abcdef0"}
    assert run.outputs["vpc_id"] == "vpc-0123456789abcdef0"
    assert run.outputs["private_subnet_ids"] == EXISTING["existing"]["privateSubnetIds"]


def test_existing_subnets_in_one_az_are_rejected_before_anything_is_built(preview):
    same_az = {s: "eu-west-1a" for s in EXISTING["existing"]["privateSubnetIds"]}
    with pytest.raises(ConfigError) as caught:
        preview({"snowplow:network": EXISTING}, mocks=mocks_for_existing(subnet_azs=same_az))
    assert caught.value.problems == [
        "snowplow:network.existing.privateSubnetIds: ['subnet-0b0000000000000b1', 'subnet-0b0000000000000b2'] are "
        "all in ['eu-west-1a']; load balancers and HA need subnets in at least two AZs"
    ]


def test_existing_subnets_of_another_vpc_are_rejected(preview):
    foreign = {EXISTING["existing"]["publicSubnetIds"][0]: "vpc-0fffffffffffffff0"}
    with pytest.raises(ConfigError) as caught:
        preview({"snowplow:network": EXISTING}, mocks=mocks_for_existing(subnet_vpcs=foreign))
    assert "snowplow:network.existing.publicSubnetIds: ['subnet-0a0000000000000a1'] are not in vpc-0123" in str(
        caught.value
    )


def test_more_azs_than_the_region_has_is_rejected(preview):
    with pytest.raises(ConfigError) as caught:
        preview({"snowplow:network": {"create": {"azs": 4, "natGateways": 1}}})
    assert "snowplow:network.create.azs: the region has 3 available AZs (got 4)" in str(caught.value)


def test_existing_subnet_that_does_not_exist_is_named(preview):
    missing = frozenset({EXISTING["existing"]["privateSubnetIds"][1]})
    with pytest.raises(ConfigError, match=r"snowplow:network.existing.privateSubnetIds: cannot look up"):
        preview({"snowplow:network": EXISTING}, mocks=mocks_for_existing(missing_subnets=missing))


def test_every_subnet_list_that_cannot_be_looked_up_is_named(preview):
    missing = frozenset({EXISTING["existing"]["publicSubnetIds"][0], EXISTING["existing"]["privateSubnetIds"][1]})
    with pytest.raises(ConfigError) as caught:
        preview({"snowplow:network": EXISTING}, mocks=mocks_for_existing(missing_subnets=missing))
    named = [problem.split(":", 2)[1] for problem in caught.value.problems]
    assert named == ["network.existing.publicSubnetIds", "network.existing.privateSubnetIds"]

"""The network and host-hardening rules judged by meaning: every spelling of a setting (CIDR forms, port ranges,
protocol numbers and "-1"/"all", IPv6, string booleans) gets the same verdict, and each violation names the
resource and tells the user what to change."""

import base64
import json

import pytest

from tests.policy_helpers import (
    BUCKET,
    BUCKET_POLICY,
    INGRESS_RULE,
    INSTANCE,
    LAUNCH_TEMPLATE,
    LB,
    OPENSEARCH,
    PAB,
    PARAMETER,
    PUBLIC_ACCESS_BLOCKED,
    RDS_CLUSTER_INSTANCE,
    REDSHIFT,
    SG,
    SG_RULE,
    TAGS,
    UNKNOWN_BOOL,
    UNKNOWN_STRING,
    WORKGROUP,
    assert_passes,
    assert_violates,
    child_of,
    good_alb_set,
    good_bucket_set,
    good_launch_template,
    good_rds,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    real_findings,
    resource,
    run,
    tls_only_policy,
)

PUBLIC_INGRESS = "ec2-security-group-restrict-public-ingress"
CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"
ALB_ALIAS = "aws:alb/loadBalancer:LoadBalancer"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
METADATA_DEFAULTS = "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults"
SUBNET = "aws:ec2/subnet:Subnet"
EIP = "aws:ec2/eip:Eip"

# The internet's addresses: everything minus the special-purpose ranges of RFC 6890 (this network, private,
# shared, loopback, link-local, IETF, documentation, benchmarking, multicast and reserved).
IPV4_SPECIAL = [2**24, 2**24, 2**22, 2**24, 2**16, 2**20, 2**8, 2**8, 2**16, 2**17, 2**8, 2**8, 2**29]
PUBLIC_IPV4 = 2**32 - sum(IPV4_SPECIAL)  # 0.0.0.0/0
# ::/127, IPv4-mapped ::ffff:0:0/96, discard 100::/64, documentation 2001:db8::/32, ULA fc00::/7, link-local
# fe80::/10, multicast ff00::/8
PUBLIC_IPV6 = 2**128 - (2 + 2**32 + 2**64 + 2**96 + 2**121 + 2**118 + 2**120)  # ::/0


def last_lines(found: list) -> list:
    """The rule's own text of each violation (the SDK may prefix lines)."""
    return [v["message"].splitlines()[-1] for v in found]


def only(found: list) -> str:
    (message,) = last_lines(found)
    return message


def group(ingress=(), name="app-sg"):
    return resource(SG, name, {"description": name, "ingress": list(ingress), "tags": TAGS})


def inline(protocol, from_port, to_port, cidrs=(), ipv6=()):
    rule = {"protocol": protocol, "fromPort": from_port, "toPort": to_port}
    if cidrs:
        rule["cidrBlocks"] = list(cidrs)
    if ipv6:
        rule["ipv6CidrBlocks"] = list(ipv6)
    return rule


def ingress_rule(sg, name, protocol, from_port, to_port, cidr_ipv4=None, cidr_ipv6=None):
    inputs = {"securityGroupId": "sg-1", "ipProtocol": protocol, "fromPort": from_port, "toPort": to_port}
    if cidr_ipv4:
        inputs["cidrIpv4"] = cidr_ipv4
    if cidr_ipv6:
        inputs["cidrIpv6"] = cidr_ipv6
    return child_of(sg, INGRESS_RULE, name, {**inputs, "tags": TAGS}, prop="securityGroupId")


def load_balancer(*groups, type_=LB, via_property=True, name="lb"):
    inputs = {"loadBalancerType": "application", "dropInvalidHeaderFields": True, "tags": TAGS}
    if type_ == CLASSIC_ELB:
        inputs = {"tags": TAGS}
    prop_deps = {"securityGroups": list(groups)} if via_property else None
    return resource(type_, name, inputs, deps=list(groups), prop_deps=prop_deps)


# --- Security group ingress: what is opened ----------------------------------------------------


def test_ssh_open_to_the_world_is_told_in_full(pack):
    sg = group([inline("tcp", 22, 22, ["0.0.0.0/0"])])
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg], urn=sg["urn"]))
    assert message == (
        "Security group 'app-sg' opens tcp port 22 to 3,702,258,688 internet addresses (0.0.0.0/0), more than a /16 "
        "(IPv4) or /48 (IPv6); only load balancer security groups may be open to the internet, on tcp [80, 443]. "
        "Restrict the source to a trusted CIDR or security group (use SSM Session Manager instead of public SSH)."
    )
    assert f"{PUBLIC_IPV4:,}" == "3,702,258,688"


@pytest.mark.parametrize(
    "protocol,from_port,to_port,described",
    [
        ("tcp", 22, 22, "tcp port 22"),
        ("TCP", 22, 22, "tcp port 22"),
        ("6", 22, 22, "tcp port 22"),
        ("17", 53, 53, "udp port 53"),
        ("udp", 5000, 5100, "udp ports 5000-5100"),
        ("1", -1, -1, "icmp (all ports)"),
        ("58", -1, -1, "icmpv6 (all ports)"),
        ("-1", 0, 0, "all traffic"),
        ("all", 0, 0, "all traffic"),
        ("ALL", 22, 22, "all traffic"),
        ("tcp", 0, 65535, "tcp (all ports)"),
        ("tcp", 0, 0, "tcp port 0"),
        ("tcp", -1, -1, "tcp (all ports)"),
        ("tcp", None, None, "tcp (all ports)"),
        ("tcp", -1, 443, "tcp ports 0-443"),
        ("tcp", 1024, None, "tcp ports 1024-65535"),
        ("tcp", "8080", "8081", "tcp ports 8080-8081"),
    ],
)
def test_every_protocol_and_port_spelling_is_described_as_what_it_opens(pack, protocol, from_port, to_port, described):
    sg = group([inline(protocol, from_port, to_port, ["0.0.0.0/0"])])
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg], urn=sg["urn"]))
    assert message.startswith(f"Security group 'app-sg' opens {described} to 3,702,258,688 internet addresses")


def test_ipv6_anywhere_counts_every_global_ipv6_address(pack):
    sg = group([inline("tcp", 8080, 8080, ipv6=["::/0"])])
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg], urn=sg["urn"]))
    assert f"opens tcp port 8080 to {PUBLIC_IPV6:,} internet addresses (::/0)" in message


@pytest.mark.parametrize(
    "cidrs,public",
    [
        (["96.0.0.0/5"], 2**27 - 2**22),  # contains the shared address space 100.64.0.0/10
        (["172.0.0.0/8"], 2**24 - 2**20),  # contains the private 172.16.0.0/12
        (["192.0.0.0/15"], 2**17 - 2 * 2**8),  # holds the reserved 192.0.0.0/24 and 192.0.2.0/24
        (["8.8.0.0/16", "9.9.9.0/24"], 2**16 + 2**8),  # the union of two sources
        (["8.8.0.0/16", "8.8.0.0/17", "8.9.0.0/24"], 2**16 + 2**8),  # overlaps counted once
        (["not-a-cidr", "8.0.0.0/15"], 2**17),  # what cannot be parsed is left out
        (["8.8.8.8/15"], 2**17),  # host bits set: AWS reads the network it names
    ],
    ids=["shared-space", "private-inside", "two-reserved-24s", "union", "overlap", "unparseable", "host-bits"],
)
def test_internet_addresses_are_counted_without_the_reserved_ranges(pack, cidrs, public):
    sg = group([inline("tcp", 22, 22, cidrs)])
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg], urn=sg["urn"]))
    assert f"opens tcp port 22 to {public:,} internet addresses ({', '.join(sorted(cidrs))})" in message


@pytest.mark.parametrize(
    "cidrs,ipv6",
    [
        (["8.8.0.0/16"], []),  # exactly the broadest allowed IPv4 source
        (["8.8.0.0/17", "8.8.128.0/17"], []),  # the same /16 in halves
        (["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "224.0.0.0/3", "127.0.0.0/8"], []),
        (["10.1.0.0/16", "8.8.8.8"], []),  # inside a private range; a bare address is one address
        ([], ["2a00:1450:4001::/48"]),  # exactly the broadest allowed IPv6 source
        ([], ["fd12:3456::/32", "fe80::/10", "ff00::/8", "2001:db8::/32", "::ffff:0:0/96", "::1/128"]),
    ],
    ids=["ipv4-slash-16", "ipv4-halves-of-16", "ipv4-private", "ipv4-inside-private", "ipv6-slash-48", "ipv6-private"],
)
def test_sources_within_the_limits_or_off_the_internet_pass(pack, cidrs, ipv6):
    assert_passes(pack, PUBLIC_INGRESS, [group([inline("tcp", 22, 22, cidrs, ipv6)])])


def test_one_address_beyond_the_limit_is_too_many_in_either_family(pack):
    ipv4 = group([inline("tcp", 22, 22, ["8.8.0.0/16", "9.9.9.9/32"])])
    assert "to 65,537 internet addresses (8.8.0.0/16, 9.9.9.9/32)" in only(
        assert_violates(pack, PUBLIC_INGRESS, [ipv4])
    )
    ipv6 = group([inline("tcp", 22, 22, ipv6=["2a00:1450:4001::/48", "2a00:1450:5000::1/128"])])
    count = 2**80 + 1
    assert f"to {count:,} internet addresses" in only(assert_violates(pack, PUBLIC_INGRESS, [ipv6]))
    ipv6_47 = group([inline("tcp", 22, 22, ipv6=["2a00:1450::/47"])])
    assert f"to {2**81:,} internet addresses (2a00:1450::/47)" in only(assert_violates(pack, PUBLIC_INGRESS, [ipv6_47]))


def test_both_families_of_one_rule_are_added_up(pack):
    sg = group([inline("tcp", 22, 22, ["8.8.0.0/24"], ["::/0"])])
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg]))
    assert f"to {PUBLIC_IPV6 + 256:,} internet addresses (8.8.0.0/24, ::/0)" in message


def test_the_limits_are_configurable_and_named_in_the_message(pack):
    sg = group([inline("tcp", 22, 22, ["8.8.0.0/16"], ["2a00:1450:4001::/48"])])
    strict_v4 = {PUBLIC_INGRESS: {"broadestPublicPrefixIpv4": 24}}
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg], config=strict_v4))
    assert "to 1,208,925,819,614,629,174,771,712 internet addresses" in message  # 2**16 + 2**80
    assert "more than a /24 (IPv4) or /48 (IPv6)" in message
    strict_v6 = {PUBLIC_INGRESS: {"broadestPublicPrefixIpv6": 56}}
    assert "more than a /16 (IPv4) or /56 (IPv6)" in only(assert_violates(pack, PUBLIC_INGRESS, [sg], config=strict_v6))
    loose = {PUBLIC_INGRESS: {"broadestPublicPrefixIpv4": 8}}
    assert_passes(pack, PUBLIC_INGRESS, [group([inline("tcp", 22, 22, ["8.0.0.0/9"])])], config=loose)


# --- Security group ingress: which rules add up ------------------------------------------------

HALF_LIMIT = {PUBLIC_INGRESS: {"broadestPublicPrefixIpv4": 17}}  # each /17 alone is fine, the /16 they make is not


@pytest.mark.parametrize(
    "protocol,from_port,to_port",
    [("tcp", 22, 22), ("6", 22, 22), ("tcp", 0, 65535), ("tcp", 20, 22), ("tcp", 22, 30), ("-1", 0, 0)],
)
def test_a_rule_admitting_the_same_port_adds_its_sources(pack, protocol, from_port, to_port):
    sg = group()
    ssh = ingress_rule(sg, "ssh", "tcp", 22, 22, cidr_ipv4="8.8.0.0/17")
    other = ingress_rule(sg, "other", protocol, from_port, to_port, cidr_ipv4="8.8.128.0/17")
    found = assert_violates(pack, PUBLIC_INGRESS, [sg, ssh, other], config=HALF_LIMIT, urn=ssh["urn"])
    ssh_message = next(m for v, m in zip(found, last_lines(found), strict=True) if v["urn"] == ssh["urn"])
    assert ssh_message.startswith(
        "Security group 'app-sg' opens tcp port 22 to 65,536 internet addresses (8.8.0.0/17, 8.8.128.0/17)"
    )


@pytest.mark.parametrize(
    "protocol,from_port,to_port", [("udp", 22, 22), ("tcp", 23, 30), ("tcp", 10, 21), ("17", 0, 65535)]
)
def test_a_rule_for_other_ports_or_protocols_adds_nothing(pack, protocol, from_port, to_port):
    sg = group()
    ssh = ingress_rule(sg, "ssh", "tcp", 22, 22, cidr_ipv4="8.8.0.0/17")
    other = ingress_rule(sg, "other", protocol, from_port, to_port, cidr_ipv4="8.8.128.0/17")
    assert_passes(pack, PUBLIC_INGRESS, [sg, ssh, other], config=HALF_LIMIT)


def test_overlapping_port_ranges_that_do_not_contain_each_other_add_nothing(pack):
    sg = group()
    low = ingress_rule(sg, "low", "tcp", 20, 25, cidr_ipv4="8.8.0.0/17")
    high = ingress_rule(sg, "high", "tcp", 22, 30, cidr_ipv4="8.8.128.0/17")
    assert_passes(pack, PUBLIC_INGRESS, [sg, low, high], config=HALF_LIMIT)


def test_all_traffic_admits_every_port_of_every_protocol(pack):
    sg = group()
    tcp = ingress_rule(sg, "tcp", "tcp", 0, 65535, cidr_ipv4="8.8.0.0/17")
    everything = ingress_rule(sg, "everything", "-1", -1, -1, cidr_ipv4="8.8.128.0/17")
    found = assert_violates(pack, PUBLIC_INGRESS, [sg, tcp, everything], config=HALF_LIMIT)
    assert [v["urn"] for v in found] == [tcp["urn"]]
    assert only(found).startswith(
        "Security group 'app-sg' opens tcp (all ports) to 65,536 internet addresses (8.8.0.0/17, 8.8.128.0/17)"
    )


def test_a_wide_rule_is_judged_on_its_own_sources_only(pack):
    """All ports from one /17 plus port 22 from the other: only port 22 is open to the whole /16."""
    sg = group()
    ssh = ingress_rule(sg, "ssh", "tcp", 22, 22, cidr_ipv4="8.8.0.0/17")
    wide = ingress_rule(sg, "wide", "tcp", 0, 65535, cidr_ipv4="8.8.128.0/17")
    found = assert_violates(pack, PUBLIC_INGRESS, [sg, ssh, wide], config=HALF_LIMIT)
    assert {v["urn"] for v in found} == {ssh["urn"]}


def test_rules_of_different_groups_do_not_add_up(pack):
    first, second = group(name="first-sg"), group(name="second-sg")
    rules = [
        ingress_rule(first, "first-half", "tcp", 22, 22, cidr_ipv4="0.0.0.0/1"),
        ingress_rule(second, "second-half", "tcp", 22, 22, cidr_ipv4="128.0.0.0/1"),
    ]
    assert_passes(
        pack, PUBLIC_INGRESS, [first, second, *rules], config={PUBLIC_INGRESS: {"broadestPublicPrefixIpv4": 1}}
    )
    together = [first, *(ingress_rule(first, r["name"], "tcp", 22, 22, r["inputs"]["cidrIpv4"]) for r in rules)]
    assert_violates(pack, PUBLIC_INGRESS, together, config={PUBLIC_INGRESS: {"broadestPublicPrefixIpv4": 1}})


def test_one_violation_per_rule_and_port_range(pack):
    sg = group(
        [
            inline("tcp", 21, 21, ["10.0.0.0/8"]),
            inline("tcp", 22, 22, ["0.0.0.0/0"]),
            inline("tcp", 22, 22, ["0.0.0.0/0"]),
            inline("tcp", 23, 23, ["0.0.0.0/0"]),
        ]
    )
    found = assert_violates(pack, PUBLIC_INGRESS, [sg])
    assert {v["urn"] for v in found} == {sg["urn"]}
    assert sorted(m.split(" to ")[0] for m in last_lines(found)) == [
        "Security group 'app-sg' opens tcp port 22",
        "Security group 'app-sg' opens tcp port 23",
    ]


def test_each_kind_of_rule_resource_is_read_in_both_families(pack):
    sg = group()
    vpc_v6 = ingress_rule(sg, "vpc-v6", "tcp", 3306, 3306, cidr_ipv6="::/0")
    legacy_v6 = child_of(
        sg,
        SG_RULE,
        "legacy-v6",
        {"type": "ingress", "protocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6CidrBlocks": ["::/0"]},
        prop="securityGroupId",
    )
    legacy_v4 = child_of(
        sg,
        SG_RULE,
        "legacy-v4",
        {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["8.0.0.0/15"]},
        prop="securityGroupId",
    )
    found = assert_violates(pack, PUBLIC_INGRESS, [sg, vpc_v6, legacy_v6, legacy_v4])
    by_urn = {v["urn"]: m for v, m in zip(found, last_lines(found), strict=True)}
    assert by_urn.keys() == {vpc_v6["urn"], legacy_v6["urn"], legacy_v4["urn"]}
    # the all-traffic rule admits 3306 and 5432 too: its IPv4 sources add to theirs, not the other way round
    both = f"to {PUBLIC_IPV6 + 2**17:,} internet addresses (8.0.0.0/15, ::/0)"
    assert by_urn[vpc_v6["urn"]].startswith(f"Security group 'app-sg' opens tcp port 3306 {both}")
    assert by_urn[legacy_v6["urn"]].startswith(f"Security group 'app-sg' opens tcp port 5432 {both}")
    assert by_urn[legacy_v4["urn"]].startswith(
        "Security group 'app-sg' opens all traffic to 131,072 internet addresses (8.0.0.0/15)"
    )


def test_a_rule_belongs_to_the_group_its_security_group_id_names(pack):
    """Whatever else the rule depends on (here the load balancer's group), its group is security_group_id's."""
    app, lb_sg = group(name="app-sg"), group([inline("tcp", 443, 443, ["0.0.0.0/0"])], name="lb-sg")
    rule = resource(
        INGRESS_RULE,
        "app-https",
        {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
        deps=[lb_sg, app],
        prop_deps={"securityGroupId": [app]},
    )
    message = only(assert_violates(pack, PUBLIC_INGRESS, [app, lb_sg, rule, load_balancer(lb_sg)], urn=rule["urn"]))
    assert message.startswith("Security group 'app-sg' opens tcp port 443 to 3,702,258,688 internet addresses")


def test_rule_resources_decided_at_deploy_time_are_judged_then(pack):
    sg = group()
    later = ingress_rule(sg, "later", "tcp", 22, 22, cidr_ipv4=UNKNOWN_STRING)
    legacy = child_of(
        sg,
        SG_RULE,
        "legacy-later",
        {"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": [UNKNOWN_STRING]},
        prop="securityGroupId",
    )
    assert real_findings(run(pack, [sg, later, legacy]), PUBLIC_INGRESS) == []


def test_a_rule_without_a_known_group_is_named_by_itself(pack):
    orphan = resource(INGRESS_RULE, "orphan", {"ipProtocol": "udp", "fromPort": 53, "toPort": 53, "cidrIpv6": "::/0"})
    message = only(assert_violates(pack, PUBLIC_INGRESS, [orphan], urn=orphan["urn"]))
    assert message.startswith(f"Security group rule 'orphan' opens udp port 53 to {PUBLIC_IPV6:,} internet addresses")


# --- Security group ingress: load balancer groups ---------------------------------------------


@pytest.mark.parametrize(
    "type_,via_property",
    [(LB, True), (LB, False), (ALB_ALIAS, True), (CLASSIC_ELB, True)],
    ids=["lb-securityGroups", "lb-dependency-only", "alb-alias", "classic-elb"],
)
def test_a_load_balancer_group_may_open_its_web_ports_however_linked(pack, type_, via_property):
    sg = group([inline("tcp", 443, 443, ["0.0.0.0/0"], ["::/0"]), inline("6", 80, 80, ["0.0.0.0/0"])], name="lb-sg")
    lb = load_balancer(sg, type_=type_, via_property=via_property)
    assert_passes(pack, PUBLIC_INGRESS, [sg, lb])
    sg["inputs"]["ingress"].append(inline("tcp", 8080, 8080, ["0.0.0.0/0"]))
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg, lb], urn=sg["urn"]))
    assert message.startswith("Security group 'lb-sg' opens tcp port 8080 to 3,702,258,688 internet addresses")


def test_only_the_groups_a_load_balancer_names_are_load_balancer_groups(pack):
    lb_sg = group([inline("tcp", 443, 443, ["0.0.0.0/0"])], name="lb-sg")
    app_sg = group([inline("tcp", 443, 443, ["0.0.0.0/0"])], name="app-sg")
    lb = resource(LB, "lb", {"tags": TAGS}, deps=[lb_sg, app_sg], prop_deps={"securityGroups": [lb_sg]})
    found = assert_violates(pack, PUBLIC_INGRESS, [lb_sg, app_sg, lb])
    assert {v["urn"] for v in found} == {app_sg["urn"]}


@pytest.mark.parametrize(
    "rule,described",
    [
        (inline("udp", 443, 443, ["0.0.0.0/0"]), "udp port 443"),
        (inline("17", 80, 80, ["0.0.0.0/0"]), "udp port 80"),
        (inline("tcp", 80, 443, ["0.0.0.0/0"]), "tcp ports 80-443"),
        (inline("tcp", 443, 444, ["0.0.0.0/0"]), "tcp ports 443-444"),
        (inline("tcp", 443, 80, ["0.0.0.0/0"]), "tcp ports 443-80"),
        (inline("-1", 0, 0, ["0.0.0.0/0"]), "all traffic"),
        (inline("tcp", None, None, ["0.0.0.0/0"]), "tcp (all ports)"),
    ],
    ids=["udp-443", "udp-80-by-number", "range-80-443", "range-443-444", "reversed", "all-traffic", "no-ports"],
)
def test_a_load_balancer_group_opening_more_than_its_web_ports_violates(pack, rule, described):
    sg = group([rule], name="lb-sg")
    message = only(assert_violates(pack, PUBLIC_INGRESS, [sg, load_balancer(sg)], urn=sg["urn"]))
    assert message.startswith(f"Security group 'lb-sg' opens {described} to 3,702,258,688 internet addresses")


def test_the_load_balancer_ports_are_configurable(pack):
    sg = group([inline("tcp", 8080, 8081, ["0.0.0.0/0"])], name="lb-sg")
    resources = [sg, load_balancer(sg)]
    assert_passes(pack, PUBLIC_INGRESS, resources, config={PUBLIC_INGRESS: {"allowedPublicPorts": [8081, 8080]}})
    message = only(
        assert_violates(pack, PUBLIC_INGRESS, resources, config={PUBLIC_INGRESS: {"allowedPublicPorts": [8443, 8080]}})
    )
    assert "only load balancer security groups may be open to the internet, on tcp [8080, 8443]." in message
    web = good_alb_set()
    assert_violates(
        pack, PUBLIC_INGRESS, web, config={PUBLIC_INGRESS: {"allowedPublicPorts": [443]}}, urn=web[1]["urn"]
    )


# --- IMDSv2 ------------------------------------------------------------------------------------

TEMPLATE_IMDS = "ec2-launch-template-require-imdsv2"
INSTANCE_IMDS = "ec2-instance-require-imdsv2"


@pytest.mark.parametrize(
    "type_,inputs,where",
    [
        (LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "optional"}}, "metadata_options"),
        (LAUNCH_TEMPLATE, {"metadataOptions": {"httpEndpoint": "enabled"}}, "metadata_options"),
        (LAUNCH_TEMPLATE, {}, "metadata_options"),
        ("aws:ec2/launchConfiguration:LaunchConfiguration", {}, "metadata_options"),
        (
            "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration",
            {"instanceMetadataOptions": {"httpTokens": "optional"}},
            "instance_metadata_options",
        ),
    ],
)
def test_templates_that_accept_imdsv1_are_told_which_setting(pack, type_, inputs, where):
    template = resource(type_, "tpl", {**inputs, "tags": TAGS})
    message = only(assert_violates(pack, TEMPLATE_IMDS, [template], urn=template["urn"]))
    assert message == (
        f"'tpl' ({type_}) launches instances that accept IMDSv1 ({where}.http_tokens is 'optional'); "
        f"set {where}.http_tokens='required'."
    )


@pytest.mark.parametrize("tokens,passes", [("required", True), ("optional", False), ("no-preference", False)])
def test_the_regions_metadata_defaults_cover_templates_and_instances_that_say_nothing(pack, tokens, passes):
    defaults = resource(METADATA_DEFAULTS, "imds-defaults", {"httpTokens": tokens})
    silent_template = resource(LAUNCH_TEMPLATE, "tpl", {"tags": TAGS})
    silent_instance = resource(INSTANCE, "box", {"tags": TAGS})
    for policy, subject in ((TEMPLATE_IMDS, silent_template), (INSTANCE_IMDS, silent_instance)):
        if passes:
            assert_passes(pack, policy, [defaults, subject])
        else:
            assert_violates(pack, policy, [defaults, subject], urn=subject["urn"])
    optional = resource(LAUNCH_TEMPLATE, "tpl", {"metadataOptions": {"httpTokens": "optional"}, "tags": TAGS})
    assert_violates(pack, TEMPLATE_IMDS, [defaults, optional], urn=optional["urn"])  # a declared value wins


def test_metadata_settings_decided_at_deploy_time_are_judged_then(pack):
    later = {"httpTokens": UNKNOWN_STRING}
    template = resource(LAUNCH_TEMPLATE, "tpl", {"metadataOptions": later, "tags": TAGS})
    instance = resource(INSTANCE, "box", {"metadataOptions": later, "tags": TAGS})
    assert real_findings(run(pack, [template]), TEMPLATE_IMDS) == []
    assert real_findings(run(pack, [instance]), INSTANCE_IMDS) == []
    from_later = child_of(template, INSTANCE, "box", {"launchTemplate": {"id": "lt-1"}}, prop="launchTemplate")
    assert real_findings(run(pack, [template, from_later]), INSTANCE_IMDS) == []
    defaults_later = resource(METADATA_DEFAULTS, "imds-defaults", {"httpTokens": UNKNOWN_STRING})
    silent = resource(LAUNCH_TEMPLATE, "tpl", {"tags": TAGS})
    assert real_findings(run(pack, [defaults_later, silent]), TEMPLATE_IMDS) == []


def test_instances_are_judged_by_their_own_setting_first_then_their_template(pack):
    good, bad = good_launch_template(), good_launch_template("bad-lt", metadataOptions={"httpTokens": "optional"})

    def launched_from(template, **inputs):
        return child_of(
            template, INSTANCE, "box", {"launchTemplate": {"id": "lt-1"}, **inputs, "tags": TAGS}, prop="launchTemplate"
        )

    assert_passes(pack, INSTANCE_IMDS, [good, launched_from(good)])
    instance = launched_from(bad)
    message = only(assert_violates(pack, INSTANCE_IMDS, [bad, instance], urn=instance["urn"]))
    assert message == (
        "'box' (aws:ec2/instance:Instance) accepts IMDSv1 (metadata_options.http_tokens is 'optional'); set "
        "metadata_options.http_tokens='required' (or launch it from a template that does)."
    )
    # its template is the one named by launch_template, whatever else it depends on
    for template, verdict in ((good, True), (bad, False)):
        other = bad if template is good else good
        box = resource(
            INSTANCE,
            "box",
            {"launchTemplate": {"id": "lt-1"}, "tags": TAGS},
            deps=[other, template],
            prop_deps={"launchTemplate": [template]},
        )
        if verdict:
            assert_passes(pack, INSTANCE_IMDS, [good, bad, box])
        else:
            assert_violates(pack, INSTANCE_IMDS, [good, bad, box], urn=box["urn"])
    overriding = launched_from(good, metadataOptions={"httpTokens": "optional"})
    assert_violates(pack, INSTANCE_IMDS, [good, overriding], urn=overriding["urn"])
    assert_passes(pack, INSTANCE_IMDS, [bad, launched_from(bad, metadataOptions={"httpTokens": "required"})])
    assert_passes(pack, INSTANCE_IMDS, [resource(INSTANCE, "box", {"metadataOptions": {"httpEndpoint": "disabled"}})])
    from_good = child_of(good, INSTANCE, "first", {"launchTemplate": {"id": "lt-1"}}, prop="launchTemplate")
    later_bare = resource(INSTANCE, "later", {"tags": TAGS})
    assert [v["urn"] for v in assert_violates(pack, INSTANCE_IMDS, [good, from_good, later_bare])] == [
        later_bare["urn"]
    ]
    compliant = resource(INSTANCE, "first", {"metadataOptions": {"httpTokens": "required"}, "tags": TAGS})
    bare = resource(INSTANCE, "second", {"tags": TAGS})
    assert [v["urn"] for v in assert_violates(pack, INSTANCE_IMDS, [compliant, bare])] == [bare["urn"]]
    spot = resource("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "spot", {"tags": TAGS})
    assert only(assert_violates(pack, INSTANCE_IMDS, [spot], urn=spot["urn"])).startswith(
        "'spot' (aws:ec2/spotInstanceRequest:SpotInstanceRequest) accepts IMDSv1"
    )


# --- Public IPs ----------------------------------------------------------------------------------

TEMPLATE_IP = "ec2-launch-template-forbid-public-ip"
INSTANCE_IP = "ec2-instance-forbid-public-ip"


@pytest.mark.parametrize(
    "type_,inputs,where,off",
    [
        (
            LAUNCH_TEMPLATE,
            {"networkInterfaces": [{"associatePublicIpAddress": "false"}, {"associatePublicIpAddress": "true"}]},
            "network_interfaces[1].associate_public_ip_address",
            {"networkInterfaces": [{"associatePublicIpAddress": "false"}, {"deviceIndex": 1}]},
        ),
        (
            "aws:ec2/launchConfiguration:LaunchConfiguration",
            {"associatePublicIpAddress": True},
            "associate_public_ip_address",
            {"associatePublicIpAddress": False},
        ),
        (
            "aws:ec2/spotFleetRequest:SpotFleetRequest",
            {"launchSpecifications": [{"associatePublicIpAddress": True}]},
            "launch_specifications[0].associate_public_ip_address",
            {"launchSpecifications": [{"associatePublicIpAddress": "false"}]},
        ),
    ],
)
def test_templates_giving_public_ips_are_told_where(pack, type_, inputs, where, off):
    template = resource(type_, "tpl", {**inputs, "tags": TAGS})
    message = only(assert_violates(pack, TEMPLATE_IP, [template], urn=template["urn"]))
    assert message == (
        f"'tpl' ({type_}) gives its instances a public IP ({where}); set it to false and run the instances in "
        "private subnets behind the load balancer / NAT."
    )
    assert_passes(pack, TEMPLATE_IP, [resource(type_, "tpl", {**off, "tags": TAGS})])
    assert_passes(pack, TEMPLATE_IP, [template], config={TEMPLATE_IP: {"allowPublicIp": True}})


def test_instances_get_a_public_ip_by_their_own_switch_or_their_subnet(pack):
    own = resource(INSTANCE, "box", {"associatePublicIpAddress": "true", "tags": TAGS})
    assert only(assert_violates(pack, INSTANCE_IP, [own], urn=own["urn"])) == (
        "'box' (aws:ec2/instance:Instance) gets a public IP (associate_public_ip_address=True); set "
        "associate_public_ip_address=False and place it in a private subnet."
    )
    public_subnet = resource(SUBNET, "public-a", {"mapPublicIpOnLaunch": "true", "tags": TAGS})
    private_subnet = resource(SUBNET, "private-a", {"mapPublicIpOnLaunch": False, "tags": TAGS})
    inside = child_of(public_subnet, INSTANCE, "box", {"subnetId": "subnet-1", "tags": TAGS}, prop="subnetId")
    assert only(assert_violates(pack, INSTANCE_IP, [public_subnet, inside], urn=inside["urn"])).startswith(
        "'box' (aws:ec2/instance:Instance) gets a public IP (its subnet maps public IPs on launch); set"
    )
    private = child_of(private_subnet, INSTANCE, "box", {"subnetId": "subnet-1", "tags": TAGS}, prop="subnetId")
    assert_passes(pack, INSTANCE_IP, [private_subnet, private])
    # its subnet is the one named by subnet_id, whatever else it depends on
    for subnet, other, verdict in ((public_subnet, private_subnet, False), (private_subnet, public_subnet, True)):
        box = resource(
            INSTANCE,
            "box",
            {"subnetId": "subnet-1", "tags": TAGS},
            deps=[other, subnet],
            prop_deps={"subnetId": [subnet]},
        )
        if verdict:
            assert_passes(pack, INSTANCE_IP, [public_subnet, private_subnet, box])
        else:
            assert_violates(pack, INSTANCE_IP, [public_subnet, private_subnet, box], urn=box["urn"])
    allowed = {INSTANCE_IP: {"allowPublicIp": True}}
    assert_passes(
        pack, INSTANCE_IP, [own, public_subnet, inside, resource(EIP, "ip", {"instance": "i-1"})], config=allowed
    )


def test_public_ip_settings_decided_at_deploy_time_are_judged_then(pack):
    public_subnet = resource(SUBNET, "public-a", {"mapPublicIpOnLaunch": True, "tags": TAGS})
    unknown_flag = child_of(
        public_subnet, INSTANCE, "box", {"subnetId": "s", "associatePublicIpAddress": UNKNOWN_BOOL}, prop="subnetId"
    )
    unknown_subnet = resource(SUBNET, "later", {"mapPublicIpOnLaunch": UNKNOWN_BOOL, "tags": TAGS})
    in_unknown_subnet = child_of(unknown_subnet, INSTANCE, "box2", {"subnetId": "s"}, prop="subnetId")
    unknown_target = resource(EIP, "ip", {"instance": UNKNOWN_STRING, "domain": "vpc"})
    resources = [public_subnet, unknown_flag, unknown_subnet, in_unknown_subnet, unknown_target]
    assert real_findings(run(pack, resources), INSTANCE_IP) == []


@pytest.mark.parametrize(
    "type_,target,named",
    [
        (EIP, "instance", "instance"),
        (EIP, "networkInterface", "network_interface"),
        ("aws:ec2/eipAssociation:EipAssociation", "instanceId", "instance_id"),
        ("aws:ec2/eipAssociation:EipAssociation", "networkInterfaceId", "network_interface_id"),
    ],
)
def test_an_elastic_ip_on_an_instance_or_interface_names_its_target(pack, type_, target, named):
    eip = resource(type_, "ip", {target: "i-0123456789abcdef0", "tags": TAGS})
    assert only(assert_violates(pack, INSTANCE_IP, [eip], urn=eip["urn"])) == (
        f"'ip' ({type_}) gives an instance or network interface a public IP ({named}); keep instances private "
        "behind the load balancer / NAT (Elastic IPs belong on NAT gateways and load balancers)."
    )
    assert_passes(pack, INSTANCE_IP, [resource(type_, "ip", {target: "", "domain": "vpc", "tags": TAGS})])


# --- Credentials in user data and task definitions ---------------------------------------------

USER_DATA = "ec2-user-data-forbid-plaintext-secrets"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def user_data_message(name, what, line, where="user_data"):
    return (
        f"User data of '{name}' ({where}) writes out {what} on line {line}; read the value at boot from Secrets "
        "Manager / SSM SecureString with the instance role (the program's {{resolve:secretsmanager:<arn>}} "
        "placeholders do this) instead of baking it into user data."
    )


@pytest.mark.parametrize(
    "line,what",
    [
        ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "credential pattern #2"),
        ("DB_PASSWORD=abc123xyz", "a secret-named setting"),
        ("docker login -u acme -p abc123xyz registry.example.com", "a credential option"),
        ("curl https://enrich:abc123xyz@api.example.com/", "a password in a URL"),
    ],
)
def test_user_data_says_what_kind_of_credential_and_on_which_line(pack, line, what):
    template = good_launch_template(userData=b64(f"#!/bin/bash\nset -eu\n{line}\n"))
    assert only(assert_violates(pack, USER_DATA, [template], urn=template["urn"])) == user_data_message(
        "enrich-lt", what, 3
    )


def test_user_data_reports_its_first_credential_once(pack):
    script = "#!/bin/bash\npassword: abc123xyz\ntoken = abc123xyz\n-----BEGIN PRIVATE KEY-----\n"
    instance = resource(INSTANCE, "box", {"userDataBase64": b64(script), "tags": TAGS})
    assert only(assert_violates(pack, USER_DATA, [instance])) == user_data_message(
        "box", "a secret-named setting", 2, where="user_data_base64"
    )


@pytest.mark.parametrize(
    "value,flagged",
    [
        ("abc123", True),  # as long as the shortest credential
        ("Xk9-mQ", True),
        ('"abc123', True),  # an unterminated quote: the rest of the line
        ("abc12", False),  # shorter
        ('"abc 123 xyz"', True),  # a quoted value with spaces
        ('"abc123xyz', True),  # an unterminated quote
        ("'abc123xyz' # comment", True),
        ("'abc 123 xyz'", True),
        ("`abc 123 xyz`", True),
        ('"" && echo "setup finished"', False),  # an empty value, then another command
        ("none # set at boot", False),
        ("abc123xyz;", True),
        ("`abc123xyz`", True),
        ('""', False),
        ("0000000000", False),  # one repeated character: a placeholder
        ("changemeplease", False),  # a bare word: a variable name or a placeholder
        ("CHANGE_ME_LATER", False),
        ("required", False),
        ("None", False),
        ("${DB_PASSWORD}", False),
        ("{{DB_PASSWORD}}", False),
        ("%DB_PASSWORD%", False),
        ("<db-password>", False),
        ("@/run/secrets/db", False),
        ("/run/secrets/db-password", False),
        ("./secrets/db", False),
        ("~/secrets/db", False),
        ("arn:aws:ssm:eu-west-1:1:parameter/db", False),
        ('"prefix-{{resolve:secretsmanager:db}}"', False),
        ("read_secret(arn)", False),
        ("settings.db.password", False),
    ],
)
def test_only_written_out_values_of_secret_named_settings_count(pack, value, flagged):
    template = good_launch_template(userData=b64(f"#!/bin/bash\nDB_PASSWORD={value}\n"))
    if flagged:
        assert only(assert_violates(pack, USER_DATA, [template])) == user_data_message(
            "enrich-lt", "a secret-named setting", 2
        )
    else:
        assert_passes(pack, USER_DATA, [template])


def test_credential_patterns_and_the_shortest_literal_are_configurable(pack):
    script = "#!/bin/bash\nexport BUILD=ACME-123456\nexport KEY_ID=AKIAIOSFODNN7EXAMPLE\nDB_PASSWORD=abc123xyz\n"
    template = good_launch_template(userData=b64(script))
    assert only(assert_violates(pack, USER_DATA, [template])) == user_data_message(
        "enrich-lt", "credential pattern #2", 3
    )
    custom = {USER_DATA: {"credentialPatterns": [r"\bACME-\d{6}\b"]}}
    assert only(assert_violates(pack, USER_DATA, [template], config=custom)) == user_data_message(
        "enrich-lt", "credential pattern #1", 2
    )
    long_only = {USER_DATA: {"credentialPatterns": [], "minLiteralLength": 10}}
    assert_passes(pack, USER_DATA, [template], config=long_only)
    nine = {USER_DATA: {"credentialPatterns": [], "minLiteralLength": 9}}
    assert only(assert_violates(pack, USER_DATA, [template], config=nine)) == user_data_message(
        "enrich-lt", "a secret-named setting", 4
    )


def test_parameters_with_secret_names_must_be_secure_strings(pack):
    policy = "ssm-parameter-require-secure-string"
    by_name = resource(PARAMETER, "db", {"name": "/snowplow/test/DB_PASSWORD", "type": "String", "value": "x"})
    assert only(assert_violates(pack, policy, [by_name], urn=by_name["urn"])) == (
        "SSM parameter '/snowplow/test/DB_PASSWORD' looks like a secret but is of type 'String'; "
        "use type='SecureString' with key_id=<customer-managed key>."
    )
    by_resource_name = resource(PARAMETER, "api-key", {"type": "StringList", "value": "x"})
    assert "SSM parameter 'api-key' looks like a secret but is of type 'StringList'" in only(
        assert_violates(pack, policy, [by_resource_name])
    )
    plain = resource(PARAMETER, "api-key", {"name": "/snowplow/test/collector-url", "type": "String", "value": "x"})
    assert_passes(pack, policy, [plain])
    custom = {policy: {"secretNamePattern": "collector-url"}}
    assert_violates(pack, policy, [plain], config=custom)
    assert_passes(pack, policy, [by_name], config=custom)


def task(*containers, name="modeling-task", as_text=True):
    definitions = json.dumps(list(containers)) if as_text else list(containers)
    return resource(TASK_DEFINITION, name, {"family": "modeling", "containerDefinitions": definitions, "tags": TAGS})


@pytest.mark.parametrize("as_text", [True, False], ids=["json-text", "object"])
def test_privileged_containers_and_host_root_capabilities_are_named(pack, as_text):
    policy = "ecs-task-definition-forbid-privileged"
    privileged = task({"name": "init", "privileged": "true"}, {"name": "dbt"}, as_text=as_text)
    assert only(assert_violates(pack, policy, [privileged])) == (
        "Task definition 'modeling-task': container 'init' is privileged (container_definitions); it would hold "
        "every capability of the host. Remove privileged=true (Fargate refuses it anyway)."
    )
    capable = task(
        {"name": "dbt"},
        {"privileged": False, "linuxParameters": {"capabilities": {"add": ["net_admin", "sys_admin", "all"]}}},
        as_text=as_text,
    )
    assert only(assert_violates(pack, policy, [capable])) == (
        "Task definition 'modeling-task': container '?' adds ['ALL', 'SYS_ADMIN'] (container_definitions), which "
        "amounts to root on the host; add only the capabilities it needs."
    )
    safe = task({"name": "dbt", "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}})
    assert_passes(pack, policy, [safe])


def test_task_secrets_are_named_by_variable_or_command_line(pack):
    policy = "ecs-task-definition-forbid-plaintext-secrets"
    environment = task(
        {"name": "dbt", "environment": [{"name": "THREADS", "value": 4}, {"name": "DB_PASSWORD", "value": "abc123xyz"}]}
    )
    assert only(assert_violates(pack, policy, [environment])) == (
        "Task definition 'modeling-task': container 'dbt' sets environment variable 'DB_PASSWORD' to a written-out "
        "credential (container_definitions); pass it in `secrets` with valueFrom=<Secrets Manager secret or SSM "
        "SecureString ARN>, which ECS resolves when the task starts."
    )
    command = task(
        {
            "entryPoint": ["/bin/sh", "-c"],
            "command": ["dbt deps", "psql postgres://loader:abc123xyz@db/snowplow", "mysql -u root -pabc123xyz"],
        }
    )
    assert only(assert_violates(pack, policy, [command])) == (
        "Task definition 'modeling-task': the command of container '?' writes out a password in a URL (line 4); "
        "read it from an environment variable that `secrets` fills from Secrets Manager."
    )
    custom = {policy: {"credentialPatterns": [r"^dbt deps$"], "minLiteralLength": 20}}
    assert "writes out credential pattern #1 (line 3)" in only(assert_violates(pack, policy, [command], config=custom))
    short = task({"name": "dbt", "environment": [{"name": "DB_PASSWORD", "value": "abc12"}]})
    quoted_reference = task({"name": "dbt", "environment": [{"name": "API_TOKEN", "value": '"${API_TOKEN}"'}]})
    assert_passes(pack, policy, [short, quoted_reference])
    unnamed = task({"name": "dbt", "environment": [{"value": "AKIAIOSFODNN7EXAMPLE"}]})
    assert "container 'dbt' sets environment variable '' to a written-out credential" in only(
        assert_violates(pack, policy, [unnamed])
    )


@pytest.mark.parametrize(
    "type_,prop,policy",
    [
        (TASK_DEFINITION, "containerDefinitions", "ecs-task-definition-forbid-privileged"),
        (TASK_DEFINITION, "containerDefinitions", "ecs-task-definition-forbid-plaintext-secrets"),
        (BUCKET_POLICY, "policy", "s3-bucket-policy-forbid-public-access"),
        (OPENSEARCH, "accessPolicies", "opensearch-domain-policy-forbid-public-access"),
    ],
)
def test_a_document_decided_at_deploy_time_is_named_in_the_preview_advisory(pack, type_, prop, policy):
    subject = resource(type_, "later", {prop: '[{"name": "' + UNKNOWN_STRING + '"}]', "tags": TAGS})
    (advisory,) = [v for v in run(pack, [subject])["violations"] if v["policy"] == policy]
    assert advisory["enforcementLevel"] == "advisory"
    assert advisory["message"].endswith(f"string value at .{prop} can't be known during preview")


# --- Databases and search domains ---------------------------------------------------------------


def test_public_databases_are_named_with_their_type(pack):
    policy = "rds-database-forbid-public-access"
    for subject in (
        good_rds(publiclyAccessible="true"),
        resource(RDS_CLUSTER_INSTANCE, "iglu-db", {"publiclyAccessible": True}),
    ):
        assert only(assert_violates(pack, policy, [subject], urn=subject["urn"])) == (
            f"'iglu-db' ({subject['type']}) is publicly accessible; set publicly_accessible=False and use private "
            "subnets."
        )
    assert_passes(pack, policy, [good_rds(publiclyAccessible="false")])


def test_redshift_must_be_private_and_route_through_the_vpc(pack):
    for type_ in (REDSHIFT, WORKGROUP):
        public = resource(type_, "rs", {"publiclyAccessible": "true", "enhancedVpcRouting": "true"})
        assert only(assert_violates(pack, "redshift-cluster-forbid-public-access", [public])) == (
            "Redshift 'rs' is publicly accessible; set publicly_accessible=False."
        )
        assert_passes(pack, "redshift-require-enhanced-vpc-routing", [public])
        direct = resource(type_, "rs", {"publiclyAccessible": False, "enhancedVpcRouting": "false"})
        assert only(assert_violates(pack, "redshift-require-enhanced-vpc-routing", [direct])) == (
            "Redshift 'rs' sends COPY and UNLOAD traffic outside the VPC; set enhanced_vpc_routing=True so it goes "
            "through the VPC's endpoints, endpoint policies and flow logs."
        )
        assert_passes(pack, "redshift-cluster-forbid-public-access", [direct])


def test_search_domains_live_in_a_vpc_and_their_policies_name_who(pack):
    public = resource(OPENSEARCH, "search", {"tags": TAGS})
    assert only(assert_violates(pack, "opensearch-domain-require-vpc", [public])) == (
        "Search domain 'search' has a public endpoint; set vpc_options={'subnet_ids': <private subnets>, "
        "'security_group_ids': [...]} so it is reachable only inside the VPC."
    )
    assert_passes(
        pack, "opensearch-domain-require-vpc", [resource(OPENSEARCH, "search", {"vpcOptions": {"subnetIds": ["s"]}})]
    )
    policy = "opensearch-domain-policy-forbid-public-access"
    broken = resource(OPENSEARCH, "search", {"accessPolicies": "{not json"})
    assert only(assert_violates(pack, policy, [broken])) == (
        "Access policy of 'search' is not valid JSON, so it cannot be reviewed; fix the document."
    )
    open_to_all = policy_document(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["es:ESHttpGet", "es:ESHttpPut"], "Resource": "*"}
    )
    domain_policy = resource(
        "aws:opensearch/domainPolicy:DomainPolicy", "dp", {"domainName": "d", "accessPolicies": open_to_all}
    )
    assert only(assert_violates(pack, policy, [domain_policy])) == (
        "Access policy of 'dp' allows ['es:ESHttpGet', 'es:ESHttpPut'] to everyone (Principal '*' or NotPrincipal) "
        "without a condition that names who (aws:PrincipalAccount, aws:PrincipalOrgID, aws:SourceArn, ...); name the "
        "IAM roles that may call the domain."
    )
    assert_passes(pack, policy, [resource(OPENSEARCH, "search", {"tags": TAGS})])


# --- S3 access -----------------------------------------------------------------------------------

PAB_RULE = "s3-bucket-require-public-access-block"
TLS_RULE = "s3-bucket-require-tls-only-policy"
PAB_ADVICE = (
    "Add aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id, block_public_acls=True, block_public_policy=True, "
    "ignore_public_acls=True, restrict_public_buckets=True) (or an aws.s3.AccountPublicAccessBlock)."
)


def test_a_bucket_without_a_full_public_access_block_is_told_what_is_missing(pack):
    bucket = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    assert only(assert_violates(pack, PAB_RULE, [bucket])) == (
        f"S3 bucket 'data' is not fully protected from public access: it has none. {PAB_ADVICE}"
    )
    partial = child_of(
        bucket,
        PAB,
        "data-pab",
        {"bucket": "x", "restrictPublicBuckets": True, "blockPublicPolicy": "true", "ignorePublicAcls": "false"},
    )
    assert only(assert_violates(pack, PAB_RULE, [bucket, partial])) == (
        "S3 bucket 'data' is not fully protected from public access: its BucketPublicAccessBlock leaves "
        f"['blockPublicAcls', 'ignorePublicAcls'] unset. {PAB_ADVICE}"
    )
    as_strings = child_of(bucket, PAB, "data-pab-2", {"bucket": "x", **{k: "true" for k in PUBLIC_ACCESS_BLOCKED}})
    assert_passes(pack, PAB_RULE, [bucket, partial, as_strings])  # one full block is enough


def test_every_bucket_is_judged_after_a_protected_one(pack):
    found = assert_violates(pack, PAB_RULE, [*good_bucket_set("first"), *good_bucket_set("second", pab=None)])
    assert [v["urn"] for v in found] == [resource(BUCKET, "second")["urn"]]


def test_a_partial_account_block_leaves_each_bucket_to_its_own(pack):
    account = resource(
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
        "account",
        {**PUBLIC_ACCESS_BLOCKED, "ignorePublicAcls": False},
    )
    bucket = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    assert_violates(pack, PAB_RULE, [account, bucket], urn=bucket["urn"])
    full = resource(
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
        "account",
        {k: "true" for k in PUBLIC_ACCESS_BLOCKED},
    )
    assert_passes(pack, PAB_RULE, [full, bucket])


def deny_insecure(**changes):
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::snowplow-test-data", "arn:aws:s3:::snowplow-test-data/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return policy_document({**statement, **changes})


@pytest.mark.parametrize(
    "document",
    [
        deny_insecure(),
        deny_insecure(Action="*"),
        deny_insecure(Action=["s3:GetObject", "S3:*"]),
        deny_insecure(Condition={"bool": {"AWS:SecureTransport": ["false"]}}),
        deny_insecure(Condition={"Bool": {"aws:securetransport": "False"}}),
        deny_insecure(
            Condition={
                "StringNotEquals": {"aws:PrincipalOrgID": "o-1"},
                "Bool": {"aws:MultiFactorAuthPresent": "false", "aws:SecureTransport": "false"},
            }
        ),
        policy_document(
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject", "Resource": "*"},
            json.loads(deny_insecure())["Statement"][0],
        ),
        policy_document(
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "*"},
            json.loads(deny_insecure())["Statement"][0],
        ),
    ],
    ids=[
        "canonical",
        "all-actions",
        "mixed-case-action",
        "lower-operator-list",
        "mixed-case-key",
        "among-other-conditions",
        "second-statement",
        "after-a-narrower-denial",
    ],
)
def test_every_spelling_of_the_tls_only_denial_counts(pack, document):
    bucket = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    policy = child_of(bucket, BUCKET_POLICY, "data-policy", {"bucket": "x", "policy": document})
    assert_passes(pack, TLS_RULE, [bucket, policy])
    inline_policy = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "policy": document, "tags": TAGS})
    assert_passes(pack, TLS_RULE, [inline_policy])


@pytest.mark.parametrize(
    "document",
    [
        deny_insecure(Effect="Allow"),
        deny_insecure(Action="s3:GetObject"),
        deny_insecure(Condition={"Bool": "aws:SecureTransport"}),
        deny_insecure(Condition=None),
        policy_document({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}),
    ],
    ids=["allow", "one-action", "malformed-condition", "no-condition", "unrelated"],
)
def test_what_does_not_deny_plain_http_leaves_the_bucket_open(pack, document):
    bucket = resource(BUCKET, "data", {"bucket": "snowplow-test-data", "tags": TAGS})
    policy = child_of(bucket, BUCKET_POLICY, "data-policy", {"bucket": "x", "policy": document})
    assert only(assert_violates(pack, TLS_RULE, [bucket, policy], urn=bucket["urn"])) == (
        "S3 bucket 'data' accepts plain HTTP requests: no linked BucketPolicy denies them. Add a BucketPolicy "
        "statement {Effect: Deny, Principal: '*', Action: 's3:*', Resource: [<bucket arn>, <bucket arn>/*], "
        "Condition: {Bool: {'aws:SecureTransport': 'false'}}}."
    )
    other = resource(BUCKET, "other", {"bucket": "snowplow-test-other", "tags": TAGS})
    elsewhere = child_of(other, BUCKET_POLICY, "other-policy", {"bucket": "x", "policy": tls_only_policy("other")})
    found = assert_violates(pack, TLS_RULE, [other, elsewhere, bucket, policy])
    assert {v["urn"] for v in found} == {bucket["urn"]}


def test_public_bucket_policies_and_acls_are_named(pack):
    policy = resource(
        BUCKET_POLICY,
        "public",
        {
            "bucket": "b",
            "policy": policy_document(
                {
                    "Effect": "Allow",
                    "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
                    "Action": ["s3:GetObject"],
                    "Resource": "*",
                }
            ),
        },
    )
    assert only(assert_violates(pack, "s3-bucket-policy-forbid-public-access", [policy])) == (
        "Bucket policy of 'public' allows ['s3:GetObject'] to everyone (Principal '*' or NotPrincipal) without a "
        "condition that names who (aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceVpce, aws:SourceArn, ...); "
        "name the principals or add such a condition."
    )
    acl_rule = "s3-bucket-forbid-public-acl"
    for canned in ("public-read", "public-read-write", "authenticated-read"):
        bucket = resource(BUCKET, "data", {"acl": canned, "tags": TAGS})
        assert only(assert_violates(pack, acl_rule, [bucket])) == (
            f"'data' (aws:s3/bucket:Bucket) sets the canned ACL '{canned}', which opens the bucket to everyone (or "
            "every AWS account); use 'private' (better: BucketOwnershipControls with BucketOwnerEnforced, which "
            "disables ACLs)."
        )
    for canned in ("private", "log-delivery-write", "bucket-owner-full-control"):
        assert_passes(pack, acl_rule, [resource(BUCKET, "data", {"acl": canned, "tags": TAGS})])
    grants = resource(
        BUCKET,
        "data",
        {
            "grants": [
                {"type": "CanonicalUser", "id": "abc", "permissions": ["FULL_CONTROL"]},
                {
                    "type": "Group",
                    "uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
                    "permissions": ["READ", "WRITE"],
                },
            ],
            "tags": TAGS,
        },
    )
    assert only(assert_violates(pack, acl_rule, [grants])) == (
        "'data' (aws:s3/bucket:Bucket) grants ['READ', 'WRITE'] to AuthenticatedUsers (grants[1]); remove the grant."
    )
    acl = resource(
        "aws:s3/bucketAclV2:BucketAclV2",
        "acl",
        {
            "bucket": "b",
            "accessControlPolicy": {
                "grants": [
                    {
                        "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
                        "permission": "READ",
                    }
                ],
                "owner": {"id": "o"},
            },
        },
    )
    assert only(assert_violates(pack, acl_rule, [acl])) == (
        "'acl' (aws:s3/bucketAclV2:BucketAclV2) grants READ to AllUsers (access_control_policy.grants[0]); remove "
        "the grant."
    )


# --- Load balancers ------------------------------------------------------------------------------


def test_application_load_balancers_drop_invalid_headers_whatever_their_spelling(pack):
    policy = "lb-load-balancer-drop-invalid-headers"
    for type_ in (LB, ALB_ALIAS):
        for inputs in ({}, {"loadBalancerType": "application", "dropInvalidHeaderFields": "false"}):
            lb = resource(type_, "web", inputs)
            assert only(assert_violates(pack, policy, [lb], urn=lb["urn"])) == (
                "Application load balancer 'web' forwards malformed HTTP headers; set drop_invalid_header_fields=True."
            )
        assert_passes(pack, policy, [resource(type_, "web", {"dropInvalidHeaderFields": "true"})])
        for kind in ("network", "gateway"):
            assert_passes(pack, policy, [resource(type_, "nlb", {"loadBalancerType": kind})])


@pytest.mark.parametrize(
    "type_,logs,writes",
    [
        (LB, None, False),
        (LB, {"enabled": True, "bucket": "logs"}, True),
        (LB, {"bucket": "logs"}, False),  # an aws.lb access_logs block is off unless enabled
        (LB, {"enabled": "true", "bucket": ""}, False),
        (LB, {"enabled": True}, False),
        (ALB_ALIAS, {"enabled": "false", "bucket": "logs"}, False),
        (CLASSIC_ELB, {"bucket": "logs"}, True),  # a classic ELB's block is on by default
        (CLASSIC_ELB, {"enabled": False, "bucket": "logs"}, False),
        (CLASSIC_ELB, None, False),
    ],
)
def test_load_balancers_write_access_logs_to_a_bucket(pack, type_, logs, writes):
    policy = "lb-load-balancer-require-access-logs"
    lb = resource(type_, "web", {"accessLogs": logs} if logs is not None else {})
    if writes:
        assert_passes(pack, policy, [lb])
        return
    found = real_findings(run(pack, [lb]), policy)
    assert [(v["urn"], v["enforcementLevel"]) for v in found] == [(lb["urn"], "advisory")]
    assert only(found) == (
        "Load balancer 'web' writes no access logs; set access_logs={'enabled': True, 'bucket': <log bucket>}."
    )


def test_network_and_gateway_load_balancers_are_not_asked_for_access_logs(pack):
    for kind in ("network", "gateway"):
        assert_passes(pack, "lb-load-balancer-require-access-logs", [resource(LB, "nlb", {"loadBalancerType": kind})])

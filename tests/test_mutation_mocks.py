"""The offline mocks answer like AWS: ids and ARNs in AWS's own formats (the pack and the IAM statements read them),
physical names as the provider picks them, the outputs each resource type adds, and the data-source invokes."""

import re

import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs

from offline.mocks import ACCOUNT_ID, SnowplowMocks

HEX17 = "[0-9a-f]{17}"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
A = f"eu-west-1:{ACCOUNT_ID}"


def new(typ, inputs=None, name="res", region="eu-west-1"):
    return SnowplowMocks(region).new_resource(MockResourceArgs(typ, name, dict(inputs or {})))


# type, inputs, id pattern, ARN pattern ({id} is the id found)
RESOURCES = [
    ("aws:ec2/vpc:Vpc", {}, f"vpc-{HEX17}", f"arn:aws:ec2:{A}:vpc/{{id}}"),
    ("aws:ec2/subnet:Subnet", {}, f"subnet-{HEX17}", f"arn:aws:ec2:{A}:subnet/{{id}}"),
    ("aws:ec2/internetGateway:InternetGateway", {}, f"igw-{HEX17}", f"arn:aws:ec2:{A}:internet-gateway/{{id}}"),
    ("aws:ec2/eip:Eip", {}, f"eipalloc-{HEX17}", f"arn:aws:ec2:{A}:elastic-ip/{{id}}"),
    ("aws:ec2/natGateway:NatGateway", {}, f"nat-{HEX17}", f"arn:aws:ec2:{A}:natgateway/{{id}}"),
    ("aws:ec2/routeTable:RouteTable", {}, f"rtb-{HEX17}", f"arn:aws:ec2:{A}:route-table/{{id}}"),
    ("aws:ec2/route:Route", {}, f"r-rtb-{HEX17}", f"arn:aws:ec2:{A}:route/{{id}}"),
    (
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        {},
        f"rtbassoc-{HEX17}",
        f"arn:aws:ec2:{A}:route-table-association/{{id}}",
    ),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", {}, f"vpce-{HEX17}", f"arn:aws:ec2:{A}:vpc-endpoint/{{id}}"),
    ("aws:ec2/securityGroup:SecurityGroup", {}, f"sg-{HEX17}", f"arn:aws:ec2:{A}:security-group/{{id}}"),
    ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {}, f"sg-{HEX17}", f"arn:aws:ec2:{A}:security-group/{{id}}"),
    (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {},
        f"sgr-{HEX17}",
        f"arn:aws:ec2:{A}:security-group-rule/{{id}}",
    ),
    (
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        {},
        f"sgr-{HEX17}",
        f"arn:aws:ec2:{A}:security-group-rule/{{id}}",
    ),
    ("aws:ec2/launchTemplate:LaunchTemplate", {}, f"lt-{HEX17}", f"arn:aws:ec2:{A}:launch-template/{{id}}"),
    ("aws:ec2/flowLog:FlowLog", {}, f"fl-{HEX17}", f"arn:aws:ec2:{A}:vpc-flow-log/{{id}}"),
    ("aws:kms/key:Key", {}, UUID, f"arn:aws:kms:{A}:key/{{id}}"),
    ("aws:kms/alias:Alias", {"name": "alias/t-key"}, "alias/t-key", f"arn:aws:kms:{A}:alias/t-key"),
    ("aws:kinesis/stream:Stream", {"name": "t-raw"}, f"arn:aws:kinesis:{A}:stream/t-raw", "{id}"),
    ("aws:dynamodb/table:Table", {"name": "t-lease"}, "t-lease", f"arn:aws:dynamodb:{A}:table/t-lease"),
    ("aws:s3/bucket:Bucket", {"bucket": "t-lake"}, "t-lake", "arn:aws:s3:::t-lake"),
    ("aws:iam/role:Role", {"name": "t-role"}, "t-role", f"arn:aws:iam::{ACCOUNT_ID}:role/t-role"),
    ("aws:iam/policy:Policy", {"name": "t-pol"}, f"arn:aws:iam::{ACCOUNT_ID}:policy/t-pol", "{id}"),
    (
        "aws:iam/instanceProfile:InstanceProfile",
        {"name": "t-prof"},
        "t-prof",
        f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/t-prof",
    ),
    ("aws:cloudwatch/logGroup:LogGroup", {"name": "/t/logs"}, "/t/logs", f"arn:aws:logs:{A}:log-group:/t/logs"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"name": "t-lag"}, "t-lag", f"arn:aws:cloudwatch:{A}:alarm:t-lag"),
    ("aws:secretsmanager/secret:Secret", {"name": "t-pw"}, f"arn:aws:secretsmanager:{A}:secret:t-pw-AbCdEf", "{id}"),
    ("aws:ssm/parameter:Parameter", {"name": "/t/p"}, "/t/p", f"arn:aws:ssm:{A}:parameter/t/p"),
    (
        "aws:sqs/queue:Queue",
        {"name": "t-q"},
        re.escape(f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT_ID}/t-q"),
        f"arn:aws:sqs:{A}:t-q",
    ),
    ("aws:sns/topic:Topic", {"name": "t-alerts"}, f"arn:aws:sns:{A}:t-alerts", "{id}"),
    (
        "aws:lb/loadBalancer:LoadBalancer",
        {"name": "t-lb"},
        f"arn:aws:elasticloadbalancing:{A}:loadbalancer/app/t-lb/[0-9a-f]{{16}}",
        "{id}",
    ),
    (
        "aws:lb/targetGroup:TargetGroup",
        {"name": "t-tg"},
        f"arn:aws:elasticloadbalancing:{A}:targetgroup/t-tg/[0-9a-f]{{16}}",
        "{id}",
    ),
    (
        "aws:lb/listener:Listener",
        {},
        f"arn:aws:elasticloadbalancing:{A}:listener/app/res-[0-9a-f]{{7}}/[0-9a-f]{{16}}/[0-9a-f]{{16}}",
        "{id}",
    ),
    ("aws:acm/certificate:Certificate", {}, f"arn:aws:acm:{A}:certificate/{UUID}", "{id}"),
    (
        "aws:autoscaling/group:Group",
        {"name": "t-asg"},
        "t-asg",
        f"arn:aws:autoscaling:{A}:autoScalingGroup:{UUID}:autoScalingGroupName/t-asg",
    ),
    (
        "aws:autoscaling/policy:Policy",
        {"name": "t-scale"},
        "t-scale",
        f"arn:aws:autoscaling:{A}:scalingPolicy:{UUID}:autoScalingGroupName/t-scale",
    ),
    ("aws:rds/instance:Instance", {"identifier": "t-db"}, "t-db", f"arn:aws:rds:{A}:db:t-db"),
    (
        "aws:redshiftserverless/namespace:Namespace",
        {"namespaceName": "t-ns"},
        "t-ns",
        f"arn:aws:redshift-serverless:{A}:namespace/{UUID}",
    ),
    (
        "aws:redshiftserverless/workgroup:Workgroup",
        {"workgroupName": "t-wg"},
        "t-wg",
        f"arn:aws:redshift-serverless:{A}:workgroup/{UUID}",
    ),
    ("aws:ecs/cluster:Cluster", {"name": "t-c"}, f"arn:aws:ecs:{A}:cluster/t-c", "{id}"),
    ("aws:ecs/taskDefinition:TaskDefinition", {"family": "t-dbt"}, f"arn:aws:ecs:{A}:task-definition/t-dbt:1", "{id}"),
    ("aws:scheduler/scheduleGroup:ScheduleGroup", {"name": "t-g"}, "t-g", f"arn:aws:scheduler:{A}:schedule-group/t-g"),
    ("aws:scheduler/schedule:Schedule", {"name": "t-s"}, "t-s", f"arn:aws:scheduler:{A}:schedule/default/t-s"),
    ("aws:athena/workgroup:Workgroup", {"name": "t-wg"}, "t-wg", f"arn:aws:athena:{A}:workgroup/t-wg"),
    ("aws:glue/catalogDatabase:CatalogDatabase", {"name": "t_db"}, "t_db", f"arn:aws:glue:{A}:database/t_db"),
    ("aws:opensearch/domain:Domain", {"domainName": "t-os"}, f"arn:aws:es:{A}:domain/t-os", "{id}"),
    # types without an entry: the service from the type token, the name as id and ARN resource
    ("aws:redshift/cluster:Cluster", {"name": "t-rs"}, "t-rs", f"arn:aws:redshift:{A}:t-rs"),
]


@pytest.mark.parametrize(("typ", "inputs", "id_pattern", "arn_pattern"), RESOURCES, ids=[r[0] for r in RESOURCES])
def test_ids_and_arns_are_in_aws_formats(typ, inputs, id_pattern, arn_pattern):
    physical_id, outputs = new(typ, inputs)
    assert re.fullmatch(id_pattern, physical_id), physical_id
    assert outputs["id"] == physical_id
    arn_regex = re.escape(arn_pattern).replace(re.escape("{id}"), re.escape(physical_id))
    if "[0-9a-f]" in arn_pattern:  # a pattern, not a literal
        arn_regex = arn_pattern.replace("{id}", re.escape(physical_id))
    assert re.fullmatch(arn_regex, outputs["arn"]), outputs["arn"]
    for key, value in inputs.items():
        assert outputs[key] == value


def test_answers_are_the_same_for_the_same_resource_and_differ_between_resources():
    assert new("aws:ec2/vpc:Vpc") == new("aws:ec2/vpc:Vpc")
    assert new("aws:ec2/vpc:Vpc")[0] != new("aws:ec2/vpc:Vpc", name="other")[0]
    assert new("aws:ec2/vpc:Vpc")[0][4:] != new("aws:ec2/subnet:Subnet")[0][7:]  # the type is part of the seed


def test_arns_name_the_mocks_region_except_for_global_services():
    _, vpc = new("aws:ec2/vpc:Vpc", region="ap-south-1")
    assert vpc["arn"].startswith(f"arn:aws:ec2:ap-south-1:{ACCOUNT_ID}:vpc/")
    _, role = new("aws:iam/role:Role", {"name": "r"}, region="ap-south-1")
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/r"
    _, queue = new("aws:sqs/queue:Queue", {"name": "q"}, region="ap-south-1")
    assert queue["id"] == f"https://sqs.ap-south-1.amazonaws.com/{ACCOUNT_ID}/q"
    assert queue["arn"] == f"arn:aws:sqs:ap-south-1:{ACCOUNT_ID}:q"


def test_physical_names_come_from_the_types_name_input_else_a_suffixed_logical_name():
    assert new("aws:autoscaling/group:Group", {"name": "g"})[1]["name"] == "g"
    assert new("aws:rds/instance:Instance", {"identifier": "db", "name": "dbname"})[0] == "db"
    assert new("aws:rds/instance:Instance", {"name": "dbname"})[0].startswith("res-")
    assert new("aws:s3/bucket:Bucket", {"bucket": "b"})[0] == "b"
    assert new("aws:lambda/function:Function", {"functionName": "f"})[1]["name"] == "f"
    assert new("aws:iam/role:Role", {"name": ""})[0] == new("aws:iam/role:Role")[0]  # empty: not a name
    assert new("aws:iam/role:Role", {"name": 5})[1]["name"] == 5  # an input is an output, never renamed
    generated = new("aws:iam/role:Role")[0]
    assert re.fullmatch("res-[0-9a-f]{7}", generated)
    prefixed = new("aws:iam/role:Role", {"namePrefix": "t-role-"})[0]
    assert re.fullmatch("t-role-[0-9a-f]{7}", prefixed) and prefixed[-7:] == generated[-7:]
    assert re.fullmatch("t-logs-[0-9a-f]{7}", new("aws:s3/bucket:Bucket", {"bucketPrefix": "t-logs-"})[0])


def test_inputs_pass_through_and_a_given_arn_is_kept():
    _, outputs = new("aws:iam/role:Role", {"name": "r", "arn": "arn:given", "path": "/x/"})
    assert outputs["arn"] == "arn:given" and outputs["path"] == "/x/" and outputs["name"] == "r"


def test_types_add_the_outputs_the_program_reads():
    vpc_id, vpc = new("aws:ec2/vpc:Vpc")
    assert re.fullmatch(f"sg-{HEX17}", vpc["defaultSecurityGroupId"])
    assert re.fullmatch(f"rtb-{HEX17}", vpc["defaultRouteTableId"])
    assert vpc["mainRouteTableId"] == vpc["defaultRouteTableId"] and vpc["ownerId"] == ACCOUNT_ID
    assert vpc["defaultSecurityGroupId"][3:] != vpc_id[4:]
    key_id, key = new("aws:kms/key:Key")
    assert key["keyId"] == key_id
    _, alias = new("aws:kms/alias:Alias", {"name": "alias/k"})
    assert re.fullmatch(f"arn:aws:kms:{A}:key/{UUID}", alias["targetKeyArn"])
    _, nat = new("aws:ec2/natGateway:NatGateway")
    assert re.fullmatch(r"203\.0\.113\.(\d+)", nat["publicIp"]) and nat["privateIp"] == "10.40.0.10"
    assert 1 <= int(nat["publicIp"].rsplit(".", 1)[1]) <= 250
    eip_id, eip = new("aws:ec2/eip:Eip")
    assert eip["allocationId"] == eip_id and re.fullmatch(r"198\.51\.100\.\d+", eip["publicIp"])
    assert 1 <= int(eip["publicIp"].rsplit(".", 1)[1]) <= 250
    assert re.fullmatch("pl-[0-9a-f]{8}", new("aws:ec2/vpcEndpoint:VpcEndpoint")[1]["prefixListId"])
    lb_arn, lb = new("aws:lb/loadBalancer:LoadBalancer", {"name": "t-lb"})
    assert re.fullmatch(r"t-lb-\d{1,10}\.eu-west-1\.elb\.amazonaws\.com", lb["dnsName"])
    assert lb["zoneId"] == "Z32O12XQLNTSW2"  # the ALB hosted zone of eu-west-1
    assert lb["arnSuffix"] == lb_arn.split(":loadbalancer/")[1] and lb["arnSuffix"].startswith("app/t-lb/")
    tg_arn, tg = new("aws:lb/targetGroup:TargetGroup", {"name": "t-tg"})
    assert tg["arnSuffix"] == tg_arn.split(":")[-1] and tg["arnSuffix"].startswith("targetgroup/t-tg/")
    _, bucket = new("aws:s3/bucket:Bucket", {"bucket": "t-lake"})
    assert {k: bucket[k] for k in ("bucket", "bucketDomainName", "bucketRegionalDomainName", "region")} == {
        "bucket": "t-lake",
        "bucketDomainName": "t-lake.s3.amazonaws.com",
        "bucketRegionalDomainName": "t-lake.s3.eu-west-1.amazonaws.com",
        "region": "eu-west-1",
    }
    _, template = new("aws:ec2/launchTemplate:LaunchTemplate")
    assert (template["latestVersion"], template["defaultVersion"]) == (1, 1)
    secret_arn, secret = new("aws:secretsmanager/secret:Secret", {"name": "s"})
    assert secret["id"] == secret_arn == secret["arn"]


def test_a_certificate_is_issued_with_a_dns_validation_record_for_its_domain():
    _, cert = new("aws:acm/certificate:Certificate", {"domainName": "c.example.org"})
    assert cert["status"] == "ISSUED"
    (option,) = cert["domainValidationOptions"]
    assert option["domainName"] == "c.example.org" and option["resourceRecordType"] == "CNAME"
    assert re.fullmatch(r"_[0-9a-f]{32}\.c\.example\.org\.", option["resourceRecordName"])
    assert re.fullmatch(r"_[0-9a-f]{32}\.acm-validations\.aws\.", option["resourceRecordValue"])
    assert option["resourceRecordName"][1:33] != option["resourceRecordValue"][1:33]
    (default,) = new("aws:acm/certificate:Certificate")[1]["domainValidationOptions"]
    assert default["domainName"] == "example.com"


def test_schedules_task_definitions_and_domains_carry_their_derived_names():
    _, schedule = new("aws:scheduler/schedule:Schedule", {"name": "nightly", "groupName": "t-group"})
    assert schedule["arn"] == f"arn:aws:scheduler:{A}:schedule/t-group/nightly" and schedule["groupName"] == "t-group"
    _, task = new("aws:ecs/taskDefinition:TaskDefinition", {"family": "t-dbt"})
    assert task["revision"] == 1 and task["arnWithoutRevision"] == f"arn:aws:ecs:{A}:task-definition/t-dbt"
    _, domain = new("aws:opensearch/domain:Domain", {"domainName": "t-os"})
    assert domain["domainId"] == f"{ACCOUNT_ID}/t-os"
    assert re.fullmatch(r"vpc-t-os-[0-9a-f]{26}\.eu-west-1\.es\.amazonaws\.com", domain["endpoint"])


def test_a_database_instance_has_an_endpoint_on_its_port():
    _, db = new("aws:rds/instance:Instance", {"identifier": "t-db"})
    assert re.fullmatch(r"t-db\.c[0-9a-f]{10}\.eu-west-1\.rds\.amazonaws\.com", db["address"])
    assert db["endpoint"] == f"{db['address']}:5432" and re.fullmatch("db-[0-9a-f]{26}", db["resourceId"])
    assert new("aws:rds/instance:Instance", {"identifier": "t-db", "port": 6543})[1]["endpoint"].endswith(":6543")
    # an EC2 instance is not a database
    _, ec2 = new("aws:ec2/instance:Instance", {"name": "i"})
    assert "address" not in ec2 and "endpoint" not in ec2


def test_a_namespace_managing_its_admin_password_names_the_secret_redshift_creates():
    managed = {"namespaceName": "t-ns", "manageAdminPassword": True, "adminUsername": "boss"}
    _, namespace = new("aws:redshiftserverless/namespace:Namespace", managed)
    assert namespace["adminPasswordSecretArn"] == f"arn:aws:secretsmanager:{A}:secret:redshift!t-ns-boss-AbCdEf"
    wrapped = {**managed, "adminUsername": {"4dabf18193072939515e22adb298388d": "x", "value": "hidden"}}
    _, namespace = new("aws:redshiftserverless/namespace:Namespace", wrapped)
    assert namespace["adminPasswordSecretArn"].endswith(":secret:redshift!t-ns-hidden-AbCdEf")
    _, namespace = new(
        "aws:redshiftserverless/namespace:Namespace", {"namespaceName": "t-ns", "manageAdminPassword": True}
    )
    assert namespace["adminPasswordSecretArn"].endswith(":secret:redshift!t-ns-admin-AbCdEf")
    unmanaged = new("aws:redshiftserverless/namespace:Namespace", {"namespaceName": "t-ns"})[1]
    assert "adminPasswordSecretArn" not in unmanaged
    other = new("aws:other/namespace:Namespace", {"namespaceName": "n", "manageAdminPassword": True})[1]
    assert "adminPasswordSecretArn" not in other


def test_random_values_are_stable_stand_ins_of_the_right_shape():
    password = new("random:index/randomPassword:RandomPassword")[1]
    assert re.fullmatch("mock[0-9a-f]{36}", password["result"])
    assert re.fullmatch(r"\$2a\$10\$[0-9a-f]{53}", password["bcryptHash"])
    assert re.fullmatch(UUID, new("random:index/randomUuid:RandomUuid")[1]["result"])
    random_id = new("random:index/randomId:RandomId", {"byteLength": 8})[1]
    assert re.fullmatch("[0-9a-f]{16}", random_id["hex"]) and re.fullmatch("[0-9a-f]{6}", random_id["b64Url"])
    assert random_id["dec"] == str(int(random_id["hex"][:8], 16))
    assert len(new("random:index/randomId:RandomId")[1]["hex"]) == 8  # 4 bytes unless asked


def call(mocks, token, args=None):
    return mocks.call(MockCallArgs(token, args or {}, ""))


def test_account_partition_and_region_invokes():
    mocks = SnowplowMocks("eu-central-1")
    assert call(mocks, "aws:index/getCallerIdentity:getCallerIdentity") == {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preview",
        "userId": "AIDAPREVIEWUSER0000000",
        "id": ACCOUNT_ID,
    }
    assert call(mocks, "aws:index/getPartition:getPartition") == {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
        "id": "aws",
    }
    assert call(mocks, "aws:index/getRegion:getRegion") == {
        "name": "eu-central-1",
        "region": "eu-central-1",
        "id": "eu-central-1",
        "endpoint": "ec2.eu-central-1.amazonaws.com",
        "description": "eu-central-1",
    }


@pytest.mark.parametrize(
    ("region", "prefix"),
    [("eu-west-1", "euw1"), ("us-east-1", "use1"), ("ap-southeast-2", "apse2"), ("eu-central-1", "euc1")],
)
def test_three_availability_zones_with_aws_zone_ids(region, prefix):
    assert call(SnowplowMocks(region), "aws:index/getAvailabilityZones:getAvailabilityZones") == {
        "names": [f"{region}a", f"{region}b", f"{region}c"],
        "zoneIds": [f"{prefix}-az1", f"{prefix}-az2", f"{prefix}-az3"],
        "id": region,
        "state": "available",
        "groupNames": [region],
    }


def test_adopted_subnets_answer_with_their_zone_and_vpc():
    mocks = SnowplowMocks(
        "eu-west-1",
        subnet_azs={"subnet-known": "eu-west-1c"},
        subnet_vpcs={"subnet-known": "vpc-known"},
        default_vpc_id="vpc-default",
        missing_subnets=frozenset({"subnet-gone"}),
    )
    assert call(mocks, "aws:ec2/getSubnet:getSubnet", {"id": "subnet-known"}) == {
        "id": "subnet-known",
        "availabilityZone": "eu-west-1c",
        "vpcId": "vpc-known",
        "cidrBlock": "10.0.0.0/20",
        "arn": f"arn:aws:ec2:{A}:subnet/subnet-known",
    }
    # unknown subnets take the zones round-robin from where the known ones leave off, in the default VPC
    zones = [call(mocks, "aws:ec2/getSubnet:getSubnet", {"id": f"subnet-{i}"}) for i in range(4)]
    assert [z["availabilityZone"] for z in zones] == ["eu-west-1b", "eu-west-1c", "eu-west-1a", "eu-west-1b"]
    assert {z["vpcId"] for z in zones} == {"vpc-default"}
    again = call(mocks, "aws:ec2/getSubnet:getSubnet", {"id": "subnet-0"})
    assert again["availabilityZone"] == "eu-west-1b"
    assert call(mocks, "aws:ec2/getSubnet:getSubnet", {"id": "subnet-gone"}) == (
        {},
        [("id", "no matching EC2 Subnet found for subnet-gone")],
    )
    assert SnowplowMocks("eu-west-1").default_vpc_id == "vpc-0a1b2c3d4e5f60718"


def test_the_ami_matches_the_architecture_asked_for():
    mocks = SnowplowMocks("eu-west-1")
    filters = [{"name": "name", "values": ["al2023-ami-*"]}, {"name": "architecture", "values": ["arm64"]}]
    arm = call(mocks, "aws:ec2/getAmi:getAmi", {"filters": filters})
    assert re.fullmatch(f"ami-{HEX17}", arm["id"]) and arm["imageId"] == arm["id"]
    assert arm["architecture"] == "arm64" and arm["name"] == "al2023-ami-2023.9.20261110.0-kernel-6.12-arm64"
    assert (arm["ownerId"], arm["rootDeviceName"]) == ("137112412989", "/dev/xvda")
    intel = call(mocks, "aws:ec2/getAmi:getAmi", {})
    assert intel["architecture"] == "x86_64" and intel["name"].endswith("-x86_64") and intel["id"] != arm["id"]
    assert call(SnowplowMocks("us-east-1"), "aws:ec2/getAmi:getAmi", {})["id"] != intel["id"]  # per region


def test_instance_types_answer_memory_and_architecture_or_the_providers_error():
    mocks = SnowplowMocks("eu-west-1")
    assert call(mocks, "aws:ec2/getInstanceType:getInstanceType", {"instanceType": "t4g.small"}) == {
        "id": "t4g.small",
        "instanceType": "t4g.small",
        "memorySize": 2048,
        "supportedArchitectures": ["arm64"],
    }
    assert call(mocks, "aws:ec2/getInstanceType:getInstanceType", {"instanceType": "m7i.large"})["memorySize"] == 8192
    assert call(mocks, "aws:ec2/getInstanceType:getInstanceType", {"instanceType": "t9.huge"}) == (
        {},
        [("instanceType", "no EC2 Instance Type Offering found for t9.huge")],
    )


def test_an_invoke_without_an_answer_is_named():
    with pytest.raises(NotImplementedError) as error:
        call(SnowplowMocks("eu-west-1"), "aws:ec2/getVpc:getVpc")
    assert str(error.value) == "offline mocks have no answer for invoke aws:ec2/getVpc:getVpc"


def test_generated_names_never_collide_in_a_plan():
    prefixed = {new("aws:s3/bucket:Bucket", {"bucketPrefix": "t-logs-"}, name=n)[0] for n in ("a", "b", "c")}
    assert len(prefixed) == 3  # one prefix, three buckets
    across_types = {new(t, {"namePrefix": "t-"}, name="x")[0] for t in ("aws:iam/role:Role", "aws:iam/policy:Policy")}
    assert len(across_types) == 2
    _, bucket = new("aws:s3/bucket:Bucket")  # auto-named: the generated name is the bucket
    assert bucket["bucket"] == bucket["id"] == bucket["name"] and re.fullmatch("res-[0-9a-f]{7}", bucket["bucket"])


def test_each_gateway_and_load_balancer_gets_its_own_valid_address():
    names = [f"nat-{i}" for i in range(40)]
    nat_ips = [new("aws:ec2/natGateway:NatGateway", name=n)[1]["publicIp"] for n in names]
    eip_ips = [new("aws:ec2/eip:Eip", name=n)[1]["publicIp"] for n in names]
    for ips, network in ((nat_ips, "203.0.113."), (eip_ips, "198.51.100.")):  # the documentation ranges
        assert all(ip.startswith(network) and 1 <= int(ip.rsplit(".", 1)[1]) <= 254 for ip in ips), ips
        assert len(set(ips)) > 30  # spread over the range, not one address
    dns = {new("aws:lb/loadBalancer:LoadBalancer", {"name": "t-lb"}, name=n)[1]["dnsName"] for n in names[:5]}
    assert len(dns) == 5 and all(re.fullmatch(r"t-lb-\d+\.eu-west-1\.elb\.amazonaws\.com", d) for d in dns)


def test_a_schedule_without_a_group_is_in_the_default_group():
    _, schedule = new("aws:scheduler/schedule:Schedule", {"name": "nightly"})
    assert schedule["groupName"] == "default"
    assert schedule["arn"] == f"arn:aws:scheduler:{A}:schedule/default/nightly"

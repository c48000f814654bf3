"""Ec2Service resource by resource, in a small program of one load-balanced app and one worker: what an operator
would see if a setting changed (target group, health checks, egress, IAM, launch template, scaling)."""

import base64
import json
import os
import textwrap

import pytest

from components.apps.boot_script import BOOT_GRACE
from offline.engine import StackFile, run_program
from offline.mocks import SnowplowMocks
from tests.conftest import of_type

KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-123456789012"
PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_aws as aws

    from components.apps.ec2_service import (
        Ec2Service,
        Ec2ServiceArgs,
        Ingress,
        InstanceFacts,
        Placement,
        describe_instance_type,
    )
    from stack_config import ConfigError
    from components.context import StackContext
    from stack_config.apps import OperationsConfig, ServiceSize

    ctx = StackContext(
        prefix="snowplow-svc",
        region="eu-west-1",
        account_id="123456789012",
        partition="aws",
        environment="prod",
        tags={"project": "svc"},
    )
    KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-123456789012"
    lb_sg = aws.ec2.SecurityGroup("lb-sg", vpc_id="vpc-0123")
    tg = aws.lb.TargetGroup("web-tg", name="snowplow-svc-web", port=8080, protocol="HTTP", vpc_id="vpc-0123")


    def service(name, **extra):
        return Ec2Service(
            name,
            Ec2ServiceArgs(
                context=ctx,
                app=name,
                image="snowplow/app:1.0.0",
                instance=InstanceFacts("c6g.large", 4096, "arm64"),
                size=ServiceSize(instance_type="c6g.large", min_size=2, max_size=5, cpu_target=55),
                placement=Placement("vpc-0123", ["subnet-a", "subnet-b"], KEY, "snowplow-svc-config"),
                operations=OperationsConfig(log_retention_days=30),
                files={"app.hocon": "a = 1\\n", "iglu/resolver.json": "{}"},
                app_args=["--config", "/snowplow/config/app.hocon"],
                statements=[{"Sid": "Own", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:q"}],
                **extra,
            ),
        )


    service(
        "web",
        ingress=[Ingress("From the web load balancer", 8080, lb_sg.id)],
        target_group_arns=[tg.arn],
        group_tags={"team": "web"},
        health_path="/health",
        secret_arns=["arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/web-AbCdEf"],
    )
    service("worker")
    pulumi.export("facts", describe_instance_type("snowplow:collector.size.instanceType", "c6g.large").__dict__)
    try:
        describe_instance_type("snowplow:enrich.size.instanceType", "x9.huge")
    except ConfigError as err:
        pulumi.export("unknown_type", err.problems)
    """
)
APPS = ("web", "worker")


def per_test_under_mutmut(fixture_name, config) -> str:
    """mutmut credits a function to the test whose setup ran it, so while it maps tests to functions each test
    plans for itself; judging a mutant, one plan serves all the tests again."""
    return "function" if os.environ.get("MUTANT_UNDER_TEST") == "stats" else "module"


class RecordingMocks(SnowplowMocks):
    """The offline mocks, remembering each invoke's token and arguments."""

    def __init__(self):
        super().__init__("eu-west-1")
        self.invokes: list[tuple[str, dict]] = []

    def call(self, args):
        self.invokes.append((args.token, args.args))
        return super().call(args)


@pytest.fixture(scope=per_test_under_mutmut)
def plan(tmp_path_factory):
    project = tmp_path_factory.mktemp("ec2-service")
    (project / "Pulumi.yaml").write_text("name: svc\nruntime: python\n")
    (project / "__main__.py").write_text(PROGRAM)
    stack = project / "Pulumi.test.yaml"
    stack.write_text("config:\n  aws:region: eu-west-1\n")
    mocks = RecordingMocks()
    run = run_program(StackFile.read(stack), project_dir=project, mocks=mocks)
    run.invokes = mocks.invokes
    return run


def named(run, type_token: str, name: str) -> dict:
    (found,) = [r for r in of_type(run, type_token) if r["name"] == name]
    return found


def test_only_the_load_balanced_group_joins_its_target_group_and_uses_its_health_checks(plan):
    web = named(plan, "aws:autoscaling/group:Group", "web-asg")
    assert web["inputs"]["healthCheckType"] == "ELB"
    assert web["propertyDependencies"]["targetGroupArns"] == [
        named(plan, "aws:lb/targetGroup:TargetGroup", "web-tg")["urn"]
    ]
    (arn,) = web["inputs"]["targetGroupArns"]
    assert ":targetgroup/snowplow-svc-web/" in arn
    worker = named(plan, "aws:autoscaling/group:Group", "worker-asg")["inputs"]
    assert worker["healthCheckType"] == "EC2"
    assert "targetGroupArns" not in worker


def test_groups_follow_the_size_and_roll_one_healthy_instance_at_a_time(plan):
    for app in APPS:
        group = named(plan, "aws:autoscaling/group:Group", f"{app}-asg")
        inputs = group["inputs"]
        assert (inputs["name"], inputs["minSize"], inputs["maxSize"]) == (f"snowplow-svc-{app}", 2, 5)
        assert inputs["vpcZoneIdentifiers"] == ["subnet-a", "subnet-b"]
        assert inputs["healthCheckGracePeriod"] == BOOT_GRACE
        assert inputs["instanceRefresh"] == {
            "strategy": "Rolling",
            "preferences": {
                "minHealthyPercentage": 100,
                "maxHealthyPercentage": 200,
                "instanceWarmup": str(BOOT_GRACE),
            },
        }
        assert inputs["enabledMetrics"] == ["GroupInServiceInstances", "GroupDesiredCapacity"]
        template = named(plan, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-lt")
        assert group["propertyDependencies"]["launchTemplate"] == [template["urn"]]
        assert inputs["launchTemplate"]["version"] == "1"  # latest_version, as text
        assert inputs["launchTemplate"]["id"].startswith("lt-")
        waits_for = {r["urn"] for r in plan.resources if r["name"].startswith(f"{app}-file-")}
        waits_for |= {
            named(plan, "aws:iam/rolePolicy:RolePolicy", f"{app}-{s}")["urn"] for s in ("policy", "session-manager")
        }
        waits_for |= {template["urn"], named(plan, "aws:iam/instanceProfile:InstanceProfile", f"{app}-profile")["urn"]}
        assert waits_for <= set(group["dependencies"])
        tags = {t["key"]: (t["value"], t["propagateAtLaunch"]) for t in inputs["tags"]}
        assert tags["Name"] == (f"snowplow-svc-{app}", False) and tags["project"] == ("svc", False)
        assert ("team" in tags) == (app == "web")


def test_groups_scale_on_average_cpu_at_the_configured_target(plan):
    for app in APPS:
        policy = named(plan, "aws:autoscaling/policy:Policy", f"{app}-cpu")["inputs"]
        assert policy == {
            "autoscalingGroupName": f"snowplow-svc-{app}",
            "policyType": "TargetTrackingScaling",
            "estimatedInstanceWarmup": 300,
            "targetTrackingConfiguration": {
                "predefinedMetricSpecification": {"predefinedMetricType": "ASGAverageCPUUtilization"},
                "targetValue": 55,
            },
        }


def test_instances_reach_out_only_over_https_and_in_only_from_their_load_balancer(plan):
    egress = of_type(plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    ingress = of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    for app in APPS:
        group = named(plan, "aws:ec2/securityGroup:SecurityGroup", f"{app}-sg")
        assert (group["inputs"]["name"], group["inputs"]["vpcId"]) == (f"snowplow-svc-{app}", "vpc-0123")
        assert group["inputs"]["description"] == f"Snowplow {app} instances"
        assert group["inputs"]["tags"]["Name"] == f"snowplow-svc-{app}"
        (rule,) = [r for r in egress if r["name"].startswith(f"{app}-")]
        assert {k: v for k, v in rule["inputs"].items() if k not in ("tags", "securityGroupId")} == {
            "description": "HTTPS to AWS APIs, Docker Hub and enrichment assets",
            "ipProtocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrIpv4": "0.0.0.0/0",
        }
        assert rule["propertyDependencies"]["securityGroupId"] == [group["urn"]]
        assert rule["inputs"]["tags"]["Name"] == f"snowplow-svc-{app}-egress-https"
    (rule,) = [r for r in ingress if r["name"].startswith("web-")]
    assert {k: v for k, v in rule["inputs"].items() if k not in ("securityGroupId", "referencedSecurityGroupId")} == {
        "description": "From the web load balancer",
        "ipProtocol": "tcp",
        "fromPort": 8080,
        "toPort": 8080,
        "tags": {"project": "svc", "Name": "snowplow-svc-web-ingress-0"},
    }
    assert rule["propertyDependencies"]["securityGroupId"] == [
        named(plan, "aws:ec2/securityGroup:SecurityGroup", "web-sg")["urn"]
    ]
    assert rule["propertyDependencies"]["referencedSecurityGroupId"] == [
        named(plan, "aws:ec2/securityGroup:SecurityGroup", "lb-sg")["urn"]
    ]
    assert not [r for r in ingress if r["name"].startswith("worker-")]


def test_only_ec2_assumes_the_role_and_every_statement_allows(plan):
    for app in APPS:
        role = named(plan, "aws:iam/role:Role", f"{app}-role")
        assert role["inputs"]["name"] == f"snowplow-svc-{app}"
        assert role["inputs"]["description"] == f"Snowplow {app} instances"
        assert role["inputs"]["tags"]["Name"] == f"snowplow-svc-{app}"
        assert json.loads(role["inputs"]["assumeRolePolicy"]) == {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        for suffix, name in (
            ("policy", f"snowplow-svc-{app}-app"),
            ("session-manager", f"snowplow-svc-{app}-session-manager"),
        ):
            policy = named(plan, "aws:iam/rolePolicy:RolePolicy", f"{app}-{suffix}")
            assert policy["inputs"]["name"] == name
            assert policy["propertyDependencies"]["role"] == [role["urn"]]
            document = json.loads(policy["inputs"]["policy"])
            assert document["Version"] == "2012-10-17"
            assert [s["Effect"] for s in document["Statement"]] == ["Allow"] * len(document["Statement"]), suffix
        statements = {
            s["Sid"]: s
            for s in json.loads(named(plan, "aws:iam/rolePolicy:RolePolicy", f"{app}-policy")["inputs"]["policy"])[
                "Statement"
            ]
        }
        assert list(statements) == [
            "WriteOwnLogs",
            "ListOwnConfig",
            "ReadOwnConfig",
            "StackKeyReadsOwnConfig",
            "MarkOwnInstancesUnhealthy",
            *(["ReadReferencedSecrets", "StackKeyReadsReferencedSecrets"] if app == "web" else []),
            "Own",
        ]
        assert statements["ListOwnConfig"] == {
            "Sid": "ListOwnConfig",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::snowplow-svc-config",
            "Condition": {"StringLike": {"s3:prefix": [f"config/{app}/*"]}},
        }
        assert statements["ReadOwnConfig"]["Resource"] == f"arn:aws:s3:::snowplow-svc-config/config/{app}/*"
        logs = statements["WriteOwnLogs"]
        assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        (group_arn, streams) = logs["Resource"]
        assert streams == f"{group_arn}:log-stream:*"
        profile = named(plan, "aws:iam/instanceProfile:InstanceProfile", f"{app}-profile")
        assert profile["propertyDependencies"]["role"] == [role["urn"]]
        assert profile["inputs"]["name"] == f"snowplow-svc-{app}"


def test_logs_are_encrypted_and_kept_as_configured(plan):
    for app in APPS:
        logs = named(plan, "aws:cloudwatch/logGroup:LogGroup", f"{app}-logs")["inputs"]
        assert (logs["retentionInDays"], logs["kmsKeyId"]) == (30, KEY)


def test_config_files_are_kms_encrypted_under_their_content_digest(plan):
    for app in APPS:
        objects = [
            r["inputs"]
            for r in of_type(plan, "aws:s3/bucketObjectv2:BucketObjectv2")
            if r["inputs"]["metadata"]["snowplow-app"] == app
        ]
        assert sorted(o["metadata"]["snowplow-file"] for o in objects) == [
            "app.hocon",
            "iglu/resolver.json",
            "manifest.sha256",
        ]
        for o in objects:
            assert (o["bucket"], o["serverSideEncryption"], o["kmsKeyId"], o["bucketKeyEnabled"]) == (
                "snowplow-svc-config",
                "aws:kms",
                KEY,
                True,
            )
            assert o["key"].startswith(f"config/{app}/") and o["key"].endswith("/" + o["metadata"]["snowplow-file"])
            json_file = o["metadata"]["snowplow-file"].endswith(".json")
            assert o["contentType"] == ("application/json" if json_file else "text/plain")
            assert o["tags"] == {"project": "svc"}
        contents = {o["metadata"]["snowplow-file"]: o["content"] for o in objects}
        assert (contents["app.hocon"], contents["iglu/resolver.json"]) == ("a = 1\n", "{}")
        assert named(plan, "aws:s3/bucketObjectv2:BucketObjectv2", f"{app}-file-iglu-resolver-json")
        prefix = {o["key"].removesuffix("/" + o["metadata"]["snowplow-file"]) for o in objects}
        (prefix,) = prefix
        script = base64.b64decode(
            named(plan, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-lt")["inputs"]["userData"]
        )
        assert f"CONFIG_SOURCE=s3://snowplow-svc-config/{prefix}/\n" in script.decode().replace("'", "")


def test_launch_templates_boot_al2023_for_the_instance_on_an_encrypted_gp3_root(plan):
    for app in APPS:
        template = named(plan, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-lt")
        inputs = template["inputs"]
        assert inputs["namePrefix"] == f"snowplow-svc-{app}-"
        assert inputs["instanceType"] == "c6g.large"
        assert inputs["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 2,
        }
        (volume,) = inputs["blockDeviceMappings"]
        assert volume == {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeSize": 20,
                "volumeType": "gp3",
                "encrypted": "true",
                "kmsKeyId": KEY,
                "deleteOnTermination": "true",
            },
        }
        assert inputs["updateDefaultVersion"] is True
        assert [spec["resourceType"] for spec in inputs["tagSpecifications"]] == ["instance", "volume"]
        (interface,) = inputs["networkInterfaces"]
        assert interface["deviceIndex"] == 0 and interface["associatePublicIpAddress"] == "false"
        assert template["propertyDependencies"]["iamInstanceProfile"] == [
            named(plan, "aws:iam/instanceProfile:InstanceProfile", f"{app}-profile")["urn"]
        ]
        script = base64.b64decode(inputs["userData"]).decode()
        assert script.startswith("#!/bin/bash\n")
        assert "APP=" + app in script.replace("'", "")


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/web-AbCdEf"


def test_every_resource_of_a_service_is_its_child_and_carries_its_name_tag(plan):
    for app in APPS:
        (component,) = [r for r in of_type(plan, "snowplow:pipeline:Ec2Service") if r["name"] == app]
        children = [r for r in plan.resources if r["name"].startswith(f"{app}-") and r["name"] != "web-tg"]
        assert len(children) == (14 if app == "web" else 13), sorted(r["name"] for r in children)
        for child in children:
            assert child["parent"] == component["urn"], child["name"]
        for kind in ("aws:iam/instanceProfile:InstanceProfile", "aws:cloudwatch/logGroup:LogGroup"):
            (tagged,) = [r for r in children if r["type"] == kind]
            assert tagged["inputs"]["tags"]["Name"] == f"snowplow-svc-{app}", kind
        template = named(plan, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-lt")["inputs"]
        assert template["description"] == f"Snowplow {app} (snowplow/app:1.0.0)"
        for spec in template["tagSpecifications"]:
            assert spec["tags"]["Name"] == f"snowplow-svc-{app}"


def test_instances_boot_the_newest_amazon_al2023_image_of_their_architecture(plan):
    amis = [args for token, args in plan.invokes if token == "aws:ec2/getAmi:getAmi"]
    assert (
        amis
        == [
            {
                "mostRecent": True,
                "owners": ["amazon"],
                "filters": [
                    {"name": "name", "values": ["al2023-ami-2023.*-kernel-6.*-arm64"]},
                    {"name": "architecture", "values": ["arm64"]},
                ],
            }
        ]
        * 2
    )
    for app in APPS:
        assert named(plan, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-lt")["inputs"]["imageId"].startswith("ami-")


def test_instance_types_are_described_by_ec2_and_an_unknown_one_names_the_key(plan):
    assert plan.outputs["facts"] == {"instance_type": "c6g.large", "memory_mib": 4096, "architecture": "arm64"}
    (problem,) = plan.outputs["unknown_type"]
    assert problem.startswith("snowplow:enrich.size.instanceType: EC2 does not offer instance type 'x9.huge' here (")


def test_session_manager_policy_is_the_channels_and_this_instances_registration(plan):
    for app in APPS:
        policy = named(plan, "aws:iam/rolePolicy:RolePolicy", f"{app}-session-manager")["inputs"]["policy"]
        assert json.loads(policy) == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SessionManagerChannels",
                    "Effect": "Allow",
                    "Action": [
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "RegisterThisInstanceWithSsm",
                    "Effect": "Allow",
                    "Action": "ssm:UpdateInstanceInformation",
                    "Resource": "${ec2:SourceInstanceARN}",
                },
            ],
        }


def test_the_app_policy_grants_its_own_logs_config_key_use_group_health_and_secrets_exactly(plan):
    policy = named(plan, "aws:iam/rolePolicy:RolePolicy", "web-policy")["inputs"]["policy"]
    logs = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/ec2/snowplow-svc-web"
    assert json.loads(policy)["Statement"] == [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [logs, f"{logs}:log-stream:*"],
        },
        {
            "Sid": "ListOwnConfig",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::snowplow-svc-config",
            "Condition": {"StringLike": {"s3:prefix": ["config/web/*"]}},
        },
        {
            "Sid": "ReadOwnConfig",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::snowplow-svc-config/config/web/*",
        },
        {
            "Sid": "StackKeyReadsOwnConfig",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": KEY,
            "Condition": {
                "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
                "StringLike": {
                    "kms:EncryptionContext:aws:s3:arn": [
                        "arn:aws:s3:::snowplow-svc-config",
                        "arn:aws:s3:::snowplow-svc-config/config/web/*",
                    ]
                },
            },
        },
        {
            "Sid": "MarkOwnInstancesUnhealthy",
            "Effect": "Allow",
            "Action": "autoscaling:SetInstanceHealth",
            "Resource": "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/snowplow-svc-web",
        },
        {
            "Sid": "ReadReferencedSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [SECRET_ARN],
        },
        {
            "Sid": "StackKeyReadsReferencedSecrets",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": KEY,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": [SECRET_ARN],
                }
            },
        },
        {"Sid": "Own", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:q"},
    ]
    worker = json.loads(named(plan, "aws:iam/rolePolicy:RolePolicy", "worker-policy")["inputs"]["policy"])
    assert "ReadReferencedSecrets" not in {s["Sid"] for s in worker["Statement"]}

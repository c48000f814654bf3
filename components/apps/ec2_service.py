"""One Snowplow app as a Docker container on an autoscaling group of private EC2 instances.

Shared by every app: launch template (AL2023, IMDSv2, encrypted gp3), ASG with instance refresh and CPU
target tracking, IAM role, security group (no SSH unless allowlisted; SSM instead), encrypted log group,
and config files in S3 under a content-addressed prefix so any change rolls the group.
"""

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.apps.boot_script import BootSpec, container_memory_mib, render_boot_script
from components.context import StackContext
from stack_config import ConfigError
from stack_config.apps import OperationsConfig, ServiceSize

APP_PORT = 8080


@dataclass(frozen=True)
class InstanceFacts:
    instance_type: str
    memory_mib: int
    architecture: str  # "x86_64" or "arm64"


def describe_instance_type(key: str, instance_type: str) -> InstanceFacts:
    """Ask EC2 about an instance type; an unknown type is a config error naming `key`."""
    try:
        found = aws.ec2.get_instance_type(instance_type=instance_type)
    except Exception as err:  # noqa: BLE001 - the provider reports unknown types as a generic invoke error
        raise ConfigError([f"{key}: EC2 does not offer instance type {instance_type!r} here ({err})"]) from None
    arch = "arm64" if "arm64" in (found.supported_architectures or []) else "x86_64"
    return InstanceFacts(instance_type, int(found.memory_size), arch)


@dataclass(frozen=True)
class Ingress:
    """Who may reach the app's port: another security group or a CIDR."""

    description: str
    port: int
    source_security_group_id: pulumi.Input[str] | None = None
    cidr: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where app instances run and what they encrypt with and read their config from."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    kms_key_arn: pulumi.Input[str]
    config_bucket: pulumi.Input[str]


@dataclass
class Ec2ServiceArgs:
    context: StackContext
    app: str
    image: str
    instance: InstanceFacts
    size: ServiceSize
    placement: Placement
    operations: OperationsConfig
    files: dict[str, pulumi.Input[str]]
    app_args: list[str]
    statements: list[dict[str, Any]]
    secret_arns: list[str] = field(default_factory=list)
    ingress: list[Ingress] = field(default_factory=list)
    target_group_arns: list[pulumi.Input[str]] = field(default_factory=list)
    group_tags: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def cidr_source(cidr: str) -> dict[str, str | None]:
    """`cidr_ipv4`/`cidr_ipv6` arguments of a security group rule for one CIDR block."""
    v6 = ":" in cidr
    return {"cidr_ipv4": None if v6 else cidr, "cidr_ipv6": cidr if v6 else None}


def config_digest(files: dict[str, str]) -> str:
    """Content address of an app's config files: any change gives a new prefix and a new launch template."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    return digest.hexdigest()[:16]


def ami_name_pattern(architecture: str) -> str:
    return f"al2023-ami-2023.*-kernel-6.*-{architecture}"


class Ec2Service(pulumi.ComponentResource):
    asg_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: Ec2ServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Ec2Service", name, None, opts)
        ctx = self._ctx = args.context
        self._name = name
        physical = ctx.name(args.app)
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/ec2/{physical}",
            retention_in_days=args.operations.log_retention_days,
            kms_key_id=args.placement.kms_key_arn,
            tags=ctx.tags_for(physical),
            opts=child,
        )

        paths = sorted(args.files)
        prefix = pulumi.Output.all(*[args.files[p] for p in paths]).apply(
            lambda contents: f"config/{args.app}/{config_digest(dict(zip(paths, contents, strict=True)))}"
        )
        self._upload(prefix, args)

        role = aws.iam.Role(
            f"{name}-role",
            name=physical,
            description=f"Snowplow {args.app} instances",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            tags=ctx.tags_for(physical),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm",
            role=role.name,
            policy_arn=partition.apply(lambda p: f"arn:{p}:iam::aws:policy/AmazonSSMManagedInstanceCore"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{physical}-app",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {"Version": "2012-10-17", "Statement": self._base_statements(args, log_group.arn) + args.statements}
            ),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=physical, role=role.name, tags=ctx.tags_for(physical), opts=child
        )

        sg = self._security_group(physical, args)

        ami = aws.ec2.get_ami_output(
            most_recent=True,
            owners=["amazon"],
            filters=[
                aws.ec2.GetAmiFilterArgs(name="name", values=[ami_name_pattern(args.instance.architecture)]),
                aws.ec2.GetAmiFilterArgs(name="architecture", values=[args.instance.architecture]),
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        user_data = pulumi.Output.all(args.placement.config_bucket, prefix, log_group.name).apply(
            lambda v: render_boot_script(
                BootSpec(
                    app=args.app,
                    region=ctx.region,
                    config_bucket=v[0],
                    config_prefix=v[1],
                    image=args.image,
                    memory_mib=container_memory_mib(args.instance.memory_mib),
                    log_group=v[2],
                    app_args=args.app_args,
                    env=args.env,
                    resolve_secrets=bool(args.secret_arns),
                )
            )
        )
        volume_tags = ctx.tags_for(physical)
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            name_prefix=f"{physical}-",
            description=f"Snowplow {args.app} ({args.image})",
            image_id=ami.id,
            instance_type=args.instance.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=2
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=20,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=args.placement.kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0, associate_public_ip_address="false", security_groups=[sg.id]
                )
            ],
            user_data=user_data.apply(lambda text: base64.b64encode(text.encode()).decode()),
            update_default_version=True,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=volume_tags)
                for kind in ("instance", "volume")
            ],
            tags=ctx.tags_for(physical),
            opts=child,
        )
        group_tags = {**ctx.tags_for(physical), **args.group_tags}
        group = aws.autoscaling.Group(
            f"{name}-asg",
            name=physical,
            min_size=args.size.min_size,
            max_size=args.size.max_size,
            vpc_zone_identifiers=args.placement.subnet_ids,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            health_check_type="ELB" if args.target_group_arns else "EC2",
            health_check_grace_period=300,
            target_group_arns=args.target_group_arns or None,
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=100, max_healthy_percentage=200, instance_warmup="300"
                ),
            ),
            enabled_metrics=["GroupInServiceInstances", "GroupDesiredCapacity"],
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                for k, v in sorted(group_tags.items())
            ],
            opts=child,
        )
        aws.autoscaling.Policy(
            f"{name}-cpu",
            autoscaling_group_name=group.name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=300,
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
                target_value=args.size.cpu_target,
            ),
            opts=child,
        )
        self.asg_name = group.name
        self.security_group_id = sg.id
        self.role_name = role.name
        self.log_group_name = log_group.name
        self.register_outputs({"asgName": group.name, "securityGroupId": sg.id, "logGroup": log_group.name})

    def _upload(self, prefix: pulumi.Output[str], args: Ec2ServiceArgs) -> None:
        """One object per rendered file, encrypted with the stack key, under the content-addressed prefix."""
        for path, content in sorted(args.files.items()):
            aws.s3.BucketObjectv2(
                f"{self._name}-file-" + re.sub(r"[^A-Za-z0-9-]", "-", path),
                bucket=args.placement.config_bucket,
                key=prefix.apply(lambda p, path=path: f"{p}/{path}"),
                content=content,
                content_type="application/json" if path.endswith(".json") else "text/plain",
                server_side_encryption="aws:kms",
                kms_key_id=args.placement.kms_key_arn,
                bucket_key_enabled=True,
                metadata={"snowplow-app": args.app, "snowplow-file": path},
                tags=dict(self._ctx.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _base_statements(self, args: Ec2ServiceArgs, log_group_arn: pulumi.Output[str]) -> list[dict[str, Any]]:
        bucket_arn = pulumi.Output.concat("arn:aws:s3:::", args.placement.config_bucket)
        statements = [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, log_group_arn.apply(lambda a: f"{a}:log-stream:*")],
            },
            {
                "Sid": "ListOwnConfig",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"config/{args.app}/*"]}},
            },
            {
                "Sid": "ReadOwnConfig",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": pulumi.Output.concat(bucket_arn, f"/config/{args.app}/*"),
            },
            {
                "Sid": "UseStackKeyForConfigStreamsAndLake",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": args.placement.kms_key_arn,
            },
        ]
        if args.secret_arns:
            statements.append(
                {
                    "Sid": "ReadReferencedSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": sorted(args.secret_arns),
                }
            )
        return statements

    def _security_group(self, physical: str, args: Ec2ServiceArgs) -> aws.ec2.SecurityGroup:
        ctx, child = self._ctx, pulumi.ResourceOptions(parent=self)
        sg = aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            name=physical,
            description=f"Snowplow {args.app} instances",
            vpc_id=args.placement.vpc_id,
            tags=ctx.tags_for(physical),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-egress-https",
            security_group_id=sg.id,
            description="HTTPS to AWS APIs, Docker Hub and enrichment assets",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            tags=ctx.tags_for(f"{physical}-egress-https"),
            opts=child,
        )
        for i, rule in enumerate(args.ingress):
            aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-ingress-{i}",
                security_group_id=sg.id,
                description=rule.description,
                ip_protocol="tcp",
                from_port=rule.port,
                to_port=rule.port,
                referenced_security_group_id=rule.source_security_group_id,
                cidr_ipv4=rule.cidr,
                tags=ctx.tags_for(f"{physical}-ingress-{i}"),
                opts=child,
            )
        for i, cidr in enumerate(args.operations.ssh_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-ssh-{i}",
                security_group_id=sg.id,
                description="SSH from the configured allowlist",
                ip_protocol="tcp",
                from_port=22,
                to_port=22,
                **cidr_source(cidr),
                tags=ctx.tags_for(f"{physical}-ssh-{i}"),
                opts=child,
            )
        return sg

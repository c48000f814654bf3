"""One Snowplow app as a Docker container on an autoscaling group of private EC2 instances.

Shared by every app: encrypted log group; config files in S3 under a content-addressed prefix with a
checksum manifest, so any change rolls the group and a booting instance can prove it has the right files;
an IAM role with the app's statements, the stack key only through the services that use it, a scoped
Session Manager policy and the right to mark only its own instances Unhealthy; a security group without
SSH; a launch template (AL2023, IMDSv2, encrypted gp3) whose user data verifies, runs and watches the app;
and the ASG with instance refresh and CPU target tracking. The launch template and the group depend on
the config objects and the role's policies, so no instance boots before its files and rights exist.
"""

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.apps.boot_script import (
    BOOT_GRACE,
    SNOWPLOW_IMAGE_UID,
    BootSpec,
    HealthCheck,
    container_memory_mib,
    render_boot_script,
)
from components.apps.config_bundle import MANIFEST_NAME, check_paths, config_digest, manifest_text, sha256_hex
from components.apps.iam import (
    SESSION_MANAGER_CHANNEL_ACTIONS,
    key_for_s3,
    key_for_secrets,
    keys_of_referenced_secrets,
)
from components.context import StackContext
from components.observability.metrics import in_service_below_minimum
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
    """Who may reach the app's port: another security group (its load balancer's)."""

    description: str
    port: int
    source_security_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class Placement:
    """Where app instances run and what they encrypt with and read their config from; `secret_key_arns` are the
    customer-managed keys (`secrets.kmsKeyArns`) of secrets named in stack config, granted to the instances
    that read such a secret."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    kms_key_arn: pulumi.Input[str]
    config_bucket: pulumi.Input[str]
    secret_key_arns: Sequence[str] = ()


@dataclass
class Ec2ServiceArgs:
    """One app. Besides the basics:

    - `files`: path -> content (plain or secret Inputs), mounted read-only at /snowplow/config;
    - `health_port`/`health_path`: HTTP GET http://127.0.0.1:<port><path> answers 2xx when healthy; without
      a path, "healthy" means the container keeps running without restarts;
    - `pre_start`: argument lists of one-off runs of the image (same config mount, env and secrets), each
      run to completion before the app starts; a non-zero exit fails the boot;
    - `post_start`: shell lines run on the host once the app is healthy (env: INSTANCE_ID, APP, HEALTH_URL,
      CONFIG_DIR, AWS_DEFAULT_REGION); they run on every new instance, so make them idempotent; a failure
      fails the boot;
    - `secret_arns`: Secrets Manager ARNs (Outputs allowed) the boot may read, granted exactly;
    - `container_user`: the UID the image runs as; the config files are readable only by it;
    - `host_scripts`: paths in `files` run with bash on the host as root (env CONFIG_DIR) once the config is
      installed, before `pre_start` and the app; a non-zero exit fails the boot; make them idempotent.
    """

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
    secret_arns: list[pulumi.Input[str]] = field(default_factory=list)
    ingress: list[Ingress] = field(default_factory=list)
    target_group_arns: list[pulumi.Input[str]] = field(default_factory=list)
    group_tags: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    health_port: int = APP_PORT
    health_path: str | None = None
    pre_start: list[list[str]] = field(default_factory=list)
    post_start: list[str] = field(default_factory=list)
    container_user: str = SNOWPLOW_IMAGE_UID
    host_scripts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConfigUpload:
    """The app's files in S3: where they are, the manifest's digest, and the objects to wait for."""

    source: pulumi.Output[str]  # s3://bucket/config/<app>/<digest>/
    manifest_sha256: pulumi.Output[str]
    objects: list[aws.s3.BucketObjectv2]


def ami_name_pattern(architecture: str) -> str:
    return f"al2023-ami-2023.*-kernel-6.*-{architecture}"


def session_manager_statements() -> list[dict[str, Any]]:
    """Session Manager only (no Run Command, inventory or parameters): `aws ssm start-session --target <id>`."""
    return [
        {
            "Sid": "SessionManagerChannels",
            "Effect": "Allow",
            "Action": SESSION_MANAGER_CHANNEL_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "RegisterThisInstanceWithSsm",
            "Effect": "Allow",
            "Action": "ssm:UpdateInstanceInformation",
            "Resource": "${ec2:SourceInstanceARN}",
        },
    ]


class Ec2Service(pulumi.ComponentResource):
    asg_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: Ec2ServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Ec2Service", name, None, opts)
        self._name, self._args, self._ctx = name, args, args.context
        self._physical = self._ctx.name(args.app)
        self._child = pulumi.ResourceOptions(parent=self)

        log_group = self._log_group()
        config = self._upload_config()
        role, policies = self._role(log_group)
        profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=self._physical, role=role.name, tags=self._tags(), opts=self._child
        )
        security_group = self._security_group()
        ready = [*config.objects, *policies, profile]
        template = self._launch_template(profile, security_group, log_group, config, ready)
        group = self._autoscaling_group(template, ready)
        self._cpu_scaling(group)

        self.asg_name = group.name
        self.security_group_id = security_group.id
        self.role_name = role.name
        self.log_group_name = log_group.name
        # Group metrics (enabled_metrics) make GroupInServiceInstances exist; nothing else is needed for this.
        self.signals = [
            in_service_below_minimum(args.app, group.name, args.size.min_size, self._ctx.log_group_name(args.app))
        ]
        self.register_outputs({"asgName": group.name, "securityGroupId": security_group.id, "logGroup": log_group.name})

    def _tags(self, suffix: str = "") -> dict[str, str]:
        return self._ctx.tags_for(self._physical + suffix)

    def _log_group(self) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-logs",
            name=self._ctx.log_group_name(self._args.app),
            retention_in_days=self._args.operations.log_retention_days,
            kms_key_id=self._args.placement.kms_key_arn,
            tags=self._tags(),
            opts=self._child,
        )

    def _upload_config(self) -> ConfigUpload:
        """Each file and the checksum manifest, SSE-KMS, under `config/<app>/<content digest>/`.

        File contents may be secret Outputs: the digest, manifest and user data derived from them stay secret.
        """
        args = self._args
        paths = sorted(args.files)
        check_paths(paths)
        if missing := [p for p in args.host_scripts if p not in args.files]:
            raise ValueError(f"host scripts {missing} of {args.app} are not among its config files")
        files = pulumi.Output.all(*[args.files[p] for p in paths]).apply(
            lambda contents: dict(zip(paths, contents, strict=True))
        )
        prefix = files.apply(lambda f: f"config/{args.app}/{config_digest(f)}")
        manifest = files.apply(manifest_text)
        contents: dict[str, pulumi.Input[str]] = {**args.files, MANIFEST_NAME: manifest}
        objects = [self._config_object(prefix, path, content) for path, content in sorted(contents.items())]
        source = pulumi.Output.concat("s3://", args.placement.config_bucket, "/", prefix, "/")
        return ConfigUpload(source, manifest.apply(sha256_hex), objects)

    def _config_object(
        self, prefix: pulumi.Output[str], path: str, content: pulumi.Input[str]
    ) -> aws.s3.BucketObjectv2:
        args = self._args
        return aws.s3.BucketObjectv2(
            f"{self._name}-file-" + re.sub(r"[^A-Za-z0-9-]", "-", path),
            bucket=args.placement.config_bucket,
            key=prefix.apply(lambda p: f"{p}/{path}"),
            content=content,
            content_type="application/json" if path.endswith(".json") else "text/plain",
            server_side_encryption="aws:kms",
            kms_key_id=args.placement.kms_key_arn,
            bucket_key_enabled=True,
            metadata={"snowplow-app": args.app, "snowplow-file": path},
            tags=dict(self._ctx.tags),
            opts=self._child,
        )

    def _role(self, log_group: aws.cloudwatch.LogGroup) -> tuple[aws.iam.Role, list[aws.iam.RolePolicy]]:
        """The instance role: the app's own policy and the Session Manager policy, both inline; nothing managed."""
        role = aws.iam.Role(
            f"{self._name}-role",
            name=self._physical,
            description=f"Snowplow {self._args.app} instances",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            tags=self._tags(),
            opts=self._child,
        )
        app_policy = aws.iam.RolePolicy(
            f"{self._name}-policy",
            name=f"{self._physical}-app",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {"Version": "2012-10-17", "Statement": self._base_statements(log_group.arn) + self._args.statements}
            ),
            opts=self._child,
        )
        session_manager = aws.iam.RolePolicy(
            f"{self._name}-session-manager",
            name=f"{self._physical}-session-manager",
            role=role.id,
            policy=json.dumps({"Version": "2012-10-17", "Statement": session_manager_statements()}),
            opts=self._child,
        )
        return role, [app_policy, session_manager]

    def _base_statements(self, log_group_arn: pulumi.Output[str]) -> list[dict[str, Any]]:
        """What every app's boot and container need: logs, its own config, its own group's health, its secrets."""
        args, region = self._args, self._ctx.region
        bucket_arn = pulumi.Output.concat("arn:", self._ctx.partition, ":s3:::", args.placement.config_bucket)
        group_arn = pulumi.Output.concat(
            "arn:",
            self._ctx.partition,
            f":autoscaling:{region}:",
            self._ctx.account_id,
            f":autoScalingGroup:*:autoScalingGroupName/{self._physical}",
        )
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
            key_for_s3("StackKeyReadsOwnConfig", args.placement.kms_key_arn, region, bucket_arn, f"config/{args.app}/"),
            {
                "Sid": "MarkOwnInstancesUnhealthy",
                "Effect": "Allow",
                "Action": "autoscaling:SetInstanceHealth",
                "Resource": group_arn,
            },
        ]
        if args.secret_arns:
            statements += [
                {
                    "Sid": "ReadReferencedSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": list(args.secret_arns),
                },
                key_for_secrets(args.placement.kms_key_arn, region, args.secret_arns),
            ]
            other_keys = keys_of_referenced_secrets(args.placement.secret_key_arns, args.secret_arns)
            statements += [other_keys] if other_keys else []
        return statements

    def _security_group(self) -> aws.ec2.SecurityGroup:
        """HTTPS out; in, only what `ingress` names. No SSH: Session Manager works over the HTTPS egress."""
        args, ctx, physical = self._args, self._ctx, self._physical
        sg = aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            name=physical,
            description=f"Snowplow {args.app} instances",
            vpc_id=args.placement.vpc_id,
            tags=self._tags(),
            opts=self._child,
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
            opts=self._child,
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
                tags=ctx.tags_for(f"{physical}-ingress-{i}"),
                opts=self._child,
            )
        return sg

    def _user_data(self, log_group: aws.cloudwatch.LogGroup, config: ConfigUpload) -> pulumi.Output[str]:
        args = self._args
        return pulumi.Output.all(config.source, config.manifest_sha256, log_group.name).apply(
            lambda v: render_boot_script(
                BootSpec(
                    app=args.app,
                    region=self._ctx.region,
                    config_source=v[0],
                    manifest_sha256=v[1],
                    image=args.image,
                    memory_mib=container_memory_mib(args.instance.memory_mib),
                    log_group=v[2],
                    app_args=args.app_args,
                    health=HealthCheck(args.health_port, args.health_path),
                    env=args.env,
                    resolve_secrets=bool(args.secret_arns),
                    pre_start=args.pre_start,
                    post_start=args.post_start,
                    container_user=args.container_user,
                    host_scripts=args.host_scripts,
                )
            )
        )

    def _launch_template(
        self,
        profile: aws.iam.InstanceProfile,
        security_group: aws.ec2.SecurityGroup,
        log_group: aws.cloudwatch.LogGroup,
        config: ConfigUpload,
        ready: list[pulumi.Resource],
    ) -> aws.ec2.LaunchTemplate:
        args = self._args
        ami = aws.ec2.get_ami_output(
            most_recent=True,
            owners=["amazon"],
            filters=[
                aws.ec2.GetAmiFilterArgs(name="name", values=[ami_name_pattern(args.instance.architecture)]),
                aws.ec2.GetAmiFilterArgs(name="architecture", values=[args.instance.architecture]),
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return aws.ec2.LaunchTemplate(
            f"{self._name}-lt",
            name_prefix=f"{self._physical}-",
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
                    device_index=0, associate_public_ip_address="false", security_groups=[security_group.id]
                )
            ],
            user_data=self._user_data(log_group, config).apply(lambda text: base64.b64encode(text.encode()).decode()),
            update_default_version=True,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=self._tags())
                for kind in ("instance", "volume")
            ],
            tags=self._tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )

    def _autoscaling_group(
        self, template: aws.ec2.LaunchTemplate, ready: list[pulumi.Resource]
    ) -> aws.autoscaling.Group:
        """Health checks wait BOOT_GRACE, by which time the boot has proved the app healthy or marked the
        instance Unhealthy itself; a refresh moves on only after that too."""
        args = self._args
        group_tags = {**self._tags(), **args.group_tags}
        return aws.autoscaling.Group(
            f"{self._name}-asg",
            name=self._physical,
            min_size=args.size.min_size,
            max_size=args.size.max_size,
            vpc_zone_identifiers=args.placement.subnet_ids,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            health_check_type="ELB" if args.target_group_arns else "EC2",
            health_check_grace_period=BOOT_GRACE,
            target_group_arns=args.target_group_arns or None,
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=100, max_healthy_percentage=200, instance_warmup=str(BOOT_GRACE)
                ),
            ),
            enabled_metrics=["GroupInServiceInstances", "GroupDesiredCapacity"],
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                for k, v in sorted(group_tags.items())
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[template, *ready]),
        )

    def _cpu_scaling(self, group: aws.autoscaling.Group) -> None:
        aws.autoscaling.Policy(
            f"{self._name}-cpu",
            autoscaling_group_name=group.name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=300,
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
                target_value=self._args.size.cpu_target,
            ),
            opts=self._child,
        )

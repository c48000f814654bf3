"""Scheduled data modeling: the dbt project run by an ECS Fargate task in the private subnets, started by an
EventBridge Scheduler schedule.

Each role holds exactly what it uses: the schedule's role may only run this task definition on this cluster and
pass its two roles to ECS; the execution role writes the task's log group and reads the warehouse's secrets (the
stack key only through Secrets Manager, for those secrets); the task role reads the one project archive (the key
only through S3). The project archive lives in the stack's config bucket under its content digest.
"""

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.apps.app_versions import AWS_CLI_IMAGE, DBT_RUNTIME_IMAGE
from components.apps.ec2_service import Placement
from components.apps.iam import key_for_s3, key_for_secrets, keys_of_referenced_secrets
from components.context import StackContext
from components.modeling.containers import FAILED_MARKER, SUCCEEDED_MARKER, VOLUME, TaskSpec, container_definitions
from components.modeling.project_archive import build_archive
from components.modeling.warehouses import Warehouse
from components.observability.signals import Signal
from stack_config.analysis import PACKAGES, ModelingConfig, schedule_interval_seconds
from stack_config.apps import OperationsConfig

APP = "modeling"
DAY = 86_400
FIVE_MINUTES = 300


@dataclass
class ModelingArgs:
    context: StackContext
    config: ModelingConfig
    operations: OperationsConfig
    placement: Placement
    warehouse: Warehouse
    modeling_dir: Path
    """The folder holding both dbt projects (`dbt/`, `unified/`); both ship, the task runs `config.package`'s."""


def _trust(service: str, conditions: dict | None) -> pulumi.Output[str]:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if conditions:
        statement["Condition"] = conditions
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


class Modeling(pulumi.ComponentResource):
    signals: list[Signal]

    def __init__(self, name: str, args: ModelingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:modeling:Modeling", name, None, opts)
        ctx, cfg, place, warehouse = args.context, args.config, args.placement, args.warehouse
        self._name, self._ctx = name, ctx
        child = pulumi.ResourceOptions(parent=self)
        physical = ctx.name(APP)
        arn = f"arn:{ctx.partition}"

        archive = build_archive({folder: args.modeling_dir / folder for folder in sorted(set(PACKAGES.values()))})
        project = PACKAGES[cfg.package]
        key = f"{APP}/{archive.digest}/project.tar.gz"
        aws.s3.BucketObjectv2(
            f"{name}-project",
            bucket=place.config_bucket,
            key=key,
            content_base64=base64.b64encode(archive.content).decode(),
            content_type="application/gzip",
            server_side_encryption="aws:kms",
            kms_key_id=place.kms_key_arn,
            bucket_key_enabled=True,
            metadata={"snowplow-app": APP, "snowplow-file": "project.tar.gz", "sha256": archive.sha256},
            tags=dict(ctx.tags),
            opts=child,
        )
        bucket_arn = pulumi.Output.concat(arn, ":s3:::", place.config_bucket)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=ctx.task_log_group_name(APP),
            retention_in_days=args.operations.log_retention_days,
            kms_key_id=place.kms_key_arn,
            tags=ctx.tags_for(ctx.task_log_group_name(APP)),
            opts=child,
        )

        # ECS documents the confused-deputy conditions for task roles; the execution role keeps the plain trust that
        # ECS's own documentation gives it (only the scheduler role and operators may pass it).
        task_trust = _trust(
            "ecs-tasks.amazonaws.com",
            {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": f"{arn}:ecs:{ctx.region}:{ctx.account_id}:*"},
            },
        )
        execution_role = self._role(
            "execution",
            f"{physical}-execution",
            "Snowplow modeling task: pulls nothing private, writes its logs, reads the warehouse's secrets",
            _trust("ecs-tasks.amazonaws.com", None),
            [
                {
                    "Sid": "WriteTaskLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [log_group.arn, log_group.arn.apply(lambda a: f"{a}:log-stream:*")],
                },
                {
                    "Sid": "ReadWarehouseSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": list(warehouse.secret_arns),
                },
                key_for_secrets(place.kms_key_arn, ctx.region, warehouse.secret_arns),
                *filter(None, [keys_of_referenced_secrets(place.secret_key_arns, warehouse.secret_arns)]),
            ],
        )
        task_role = self._role(
            "task",
            f"{physical}-task",
            "Snowplow modeling task: reads its dbt project archive",
            task_trust,
            [
                {
                    "Sid": "ReadProjectArchive",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": pulumi.Output.concat(bucket_arn, "/", key),
                },
                key_for_s3("StackKeyReadsProjectArchive", place.kms_key_arn, ctx.region, bucket_arn, key),
            ],
        )

        spec = pulumi.Output.all(place.config_bucket, log_group.name, warehouse.environment, warehouse.secrets).apply(
            lambda v: TaskSpec(
                archive_uri=f"s3://{v[0]}/{key}",
                archive_sha256=archive.sha256,
                runtime_image=DBT_RUNTIME_IMAGE,
                adapter=warehouse.adapter,
                aws_cli_image=AWS_CLI_IMAGE,
                target=warehouse.name,
                project=project,
                log_group=v[1],
                region=ctx.region,
                run_deps=has_packages(args.modeling_dir / project),
                dbt_vars=dbt_vars(cfg.package, warehouse.events_schema, warehouse.events_table),
                environment=v[2],
                secrets=v[3],
            )
        )
        task = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=physical,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(cfg.cpu),
            memory=str(cfg.memory),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=VOLUME)],
            container_definitions=spec.apply(lambda s: json.dumps(container_definitions(s))),
            tags=ctx.tags_for(physical),
            opts=child,
        )
        cluster = aws.ecs.Cluster(f"{name}-cluster", name=physical, tags=ctx.tags_for(physical), opts=child)
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=physical,
            description="Snowplow modeling task (dbt)",
            vpc_id=place.vpc_id,
            tags=ctx.tags_for(physical),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-https",
            security_group_id=security_group.id,
            description="HTTPS to AWS APIs, the image registries, PyPI and dbt package hubs",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            tags=ctx.tags_for(f"{physical}-egress-https"),
            opts=child,
        )
        if warehouse.admit is not None:
            warehouse.admit(APP, security_group.id)

        group = aws.scheduler.ScheduleGroup(f"{name}-schedules", name=physical, tags=ctx.tags_for(physical), opts=child)
        schedule_name = physical
        # Scheduler assumes the role with the schedule *group* as aws:SourceArn; the group holds only this schedule.
        group_arn = f"{arn}:scheduler:{ctx.region}:{ctx.account_id}:schedule-group/{physical}"
        scheduler_role = self._role(
            "scheduler",
            f"{physical}-scheduler",
            "EventBridge Scheduler: runs the Snowplow modeling task",
            _trust(
                "scheduler.amazonaws.com",
                {"StringEquals": {"aws:SourceAccount": ctx.account_id}, "ArnEquals": {"aws:SourceArn": group_arn}},
            ),
            [
                {
                    "Sid": "RunModelingTask",
                    "Effect": "Allow",
                    "Action": "ecs:RunTask",
                    "Resource": task.arn,
                    "Condition": {"ArnEquals": {"ecs:cluster": cluster.arn}},
                },
                {
                    "Sid": "PassModelingTaskRoles",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": [execution_role.arn, task_role.arn],
                    "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                },
            ],
        )
        schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=schedule_name,
            group_name=group.name,
            description=f"{ctx.prefix}: dbt build ({cfg.package} models in {warehouse.name})",
            schedule_expression=cfg.schedule,
            schedule_expression_timezone=cfg.timezone,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            state="ENABLED",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=cluster.arn,
                role_arn=scheduler_role.arn,
                ecs_parameters=aws.scheduler.ScheduleTargetEcsParametersArgs(
                    task_definition_arn=task.arn,
                    launch_type="FARGATE",
                    platform_version="LATEST",
                    task_count=1,
                    network_configuration=aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs(
                        subnets=place.subnet_ids, security_groups=[security_group.id], assign_public_ip=False
                    ),
                ),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_role]),
        )

        namespace = f"Snowplow/{ctx.prefix}"
        for marker, metric in ((SUCCEEDED_MARKER, "ModelingRunsSucceeded"), (FAILED_MARKER, "ModelingRunsFailed")):
            aws.cloudwatch.LogMetricFilter(
                f"{name}-{metric}",
                name=f"{physical}-{metric}",
                log_group_name=log_group.name,
                pattern=f'"{marker}"',
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    name=metric, namespace=namespace, value="1", unit="Count"
                ),
                opts=child,
            )
        self.signals = modeling_signals(physical, namespace, cfg, ctx.task_log_group_name(APP))
        self.cluster_name = cluster.name
        self.task_definition_arn = task.arn
        self.task_family = task.family
        self.schedule_name = schedule.name
        self.log_group_name = log_group.name
        self.security_group_id = security_group.id
        self.register_outputs(
            {"cluster": cluster.name, "taskDefinition": task.arn, "schedule": schedule.name, "logGroup": log_group.name}
        )

    def _role(self, suffix: str, role_name: str, description: str, trust, statements: list) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self._name}-{suffix}-role",
            name=role_name,
            description=description,
            assume_role_policy=trust,
            tags=self._ctx.tags_for(role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-{suffix}-policy",
            name=role_name,
            role=role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role


def has_packages(project_dir: Path) -> bool:
    """Whether `dbt deps` has anything to download for this project."""
    return any((project_dir / name).is_file() for name in ("packages.yml", "dependencies.yml"))


def dbt_vars(package: str, events_schema: str, events_table: str = "events") -> dict[str, object]:
    """The `--vars` of `dbt build`: snowplow_unified's licence acceptance (modeling.package: snowplow_unified is the
    user's statement that they hold the licence), and the loader's events schema and table where they are not the
    projects' defaults (`atomic`.`events`)."""
    variables: dict[str, object] = {}
    if package == "snowplow_unified":
        variables["snowplow__license_accepted"] = True
    if events_schema != "atomic":
        variables["snowplow__atomic_schema"] = events_schema
    if events_table != "events":
        variables["snowplow__events_table"] = events_table
    return variables


def modeling_signals(physical: str, namespace: str, cfg: ModelingConfig, log_group: str) -> list[Signal]:
    """The schedule's own failures (AWS/Scheduler, per schedule group) and the runs' outcome (log markers)."""
    signals = [
        Signal(
            name="modeling-schedule-target-errors",
            namespace="AWS/Scheduler",
            metric_name="TargetErrorCount",
            dimensions={"ScheduleGroup": physical},
            threshold=0,
            statistic="Sum",
            description=(
                f"EventBridge Scheduler could not start the modeling task (ecs:RunTask failed) for schedule group "
                f"{physical}: check the scheduler role, the task definition and the private subnets' capacity."
            ),
        ),
        Signal(
            name="modeling-schedule-invocations-dropped",
            namespace="AWS/Scheduler",
            metric_name="InvocationDroppedCount",
            dimensions={"ScheduleGroup": physical},
            threshold=0,
            statistic="Sum",
            description=(
                f"EventBridge Scheduler gave up starting the modeling task after its retries (schedule group "
                f"{physical}): that run of the models never happened."
            ),
        ),
        Signal(
            name="modeling-run-failed",
            namespace=namespace,
            metric_name="ModelingRunsFailed",
            dimensions={},
            threshold=0,
            statistic="Sum",
            description=(
                f"A dbt run of the models failed (its last log line is {FAILED_MARKER}): read log group {log_group} "
                "(stream prefix dbt/) for the failing model or test; the next scheduled run retries."
            ),
        ),
    ]
    interval = schedule_interval_seconds(cfg.schedule)
    if interval is not None and interval <= DAY:
        signals.append(
            Signal(
                name="modeling-no-successful-run",
                namespace=namespace,
                metric_name="ModelingRunsSucceeded",
                dimensions={},
                threshold=1,
                comparison="LessThanThreshold",
                statistic="Sum",
                period_seconds=DAY,
                evaluation_periods=2,
                treat_missing_data="breaching",
                description=(
                    f"No dbt run of the models succeeded for two days although schedule {cfg.schedule} runs at "
                    f"least daily: the task may not start at all (image pull, secrets, network). Read log group "
                    f"{log_group} and the stopped tasks of the modeling cluster (stoppedReason)."
                ),
            )
        )
    return signals

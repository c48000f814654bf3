"""The Redshift destination: Snowplow's RDB Transformer Kinesis and RDB Loader Redshift, linked by an SQS FIFO queue.

The transformer reads the enriched stream (KCL, Polling, its lease table created here), shreds each window of
events into TSV under `transformed/` in the lake, sends events it cannot transform to bad-2, and announces
every finished window on the queue. The loader takes one announcement at a time and has Redshift COPY the
window through an IAM role scoped to that prefix. Snowplow runs exactly one instance of each ("one instance
of the Transformer and one instance of the Loader", RDB Loader docs): a second transformer would write and
announce windows of its own shards only, and the loader works through one FIFO message group in order, so
both groups are fixed at one instance and the ASG only replaces a failed one.

The target is an existing cluster, an existing Serverless workgroup, or a Serverless namespace and workgroup
created here (`RedshiftServerless`). The loader logs in as its own user with a password from Secrets
Manager, resolved on the instance at boot: IAM authentication in the loader (`jdbcAuth.type=iam`) calls
`GetClusterCredentials` with a cluster id, so it cannot serve a Serverless workgroup.
"""

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.apps.app_versions import REDSHIFT_LOADER_IMAGE, REDSHIFT_TRANSFORMER_IMAGE
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.iam import kcl_consumer, key_for_s3, stack_key_via
from components.apps.lease_table import lease_table
from components.context import StackContext
from components.destinations.redshift_loader_config import RedshiftConnection, render_loader_config
from components.destinations.redshift_serverless import (
    RedshiftServerless,
    RedshiftServerlessArgs,
)
from components.destinations.redshift_transformer_config import render_transformer_config
from components.observability.signals import Signal
from components.platform.reach import admit_on_port
from components.platform.secrets import stack_secret
from components.platform.streams import StreamInfo
from stack_config.apps import OperationsConfig
from stack_config.redshift import RedshiftDestination as RedshiftConfig

# Both images build with sbt-snowplow-release's SnowplowDockerPlugin like Enrich and the S3 Loader, so they run
# as the Ec2Service default container user (SNOWPLOW_IMAGE_UID).
TRANSFORMER = "redshift-transformer"
LOADER = "redshift-loader"
TRANSFORMED_PREFIX = "transformed/"
QUEUE_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: a stopped loader finds every window announced since
QUEUE_VISIBILITY_SECONDS = 300  # the loader's own timeouts.sqsVisibility default (5 minutes)
TRANSFORMER_LAG_MS = 15 * 60 * 1000
OLDEST_ANNOUNCEMENT_SECONDS = 3600


@dataclass
class RedshiftDestinationArgs:
    context: StackContext
    config: RedshiftConfig
    operations: OperationsConfig
    transformer_instance: InstanceFacts
    loader_instance: InstanceFacts
    placement: Placement
    enriched: StreamInfo
    failures: StreamInfo
    lake_bucket: pulumi.Input[str]
    lake_bucket_arn: pulumi.Input[str]
    resolver: pulumi.Input[str]
    """iglu_resolver.json text; both apps look up every schema they shred or load."""
    resolver_secret_arns: list[pulumi.Input[str]] = field(default_factory=list)


class RedshiftDestination(pulumi.ComponentResource):
    signals: list[Signal]

    def __init__(self, name: str, args: RedshiftDestinationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:destinations:Redshift", name, None, opts)
        ctx, cfg, place = args.context, args.config, args.placement
        self._ctx, self._name, self._args = ctx, name, args
        child = pulumi.ResourceOptions(parent=self)

        queue = aws.sqs.Queue(
            f"{name}-queue",
            name=ctx.short_name("redshift-windows", 75) + ".fifo",
            fifo_queue=True,
            content_based_deduplication=True,  # the transformer sends no deduplication id
            kms_master_key_id=place.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            visibility_timeout_seconds=QUEUE_VISIBILITY_SECONDS,
            tags=ctx.tags_for(ctx.name("redshift-windows")),
            opts=child,
        )
        transformed_objects = pulumi.Output.concat(args.lake_bucket_arn, f"/{TRANSFORMED_PREFIX}*")

        warehouse = None
        if cfg.serverless is not None:
            copy_role = self._copy_role(transformed_objects)
            warehouse = RedshiftServerless(
                f"{name}-serverless",
                RedshiftServerlessArgs(
                    context=ctx,
                    config=cfg.serverless,
                    vpc_id=place.vpc_id,
                    subnet_ids=place.subnet_ids,
                    kms_key_arn=place.kms_key_arn,
                    copy_role_arn=copy_role.arn,
                ),
                opts=child,
            )
            password_secret_arn = self._generated_password().arn
            connection = pulumi.Output.all(warehouse.host, password_secret_arn, copy_role.arn).apply(
                lambda v: RedshiftConnection(
                    v[0], warehouse.port, warehouse.database, cfg.schema_name, cfg.username, v[1], v[2]
                )
            )
        else:
            target = cfg.cluster or cfg.workgroup
            host = (
                cfg.cluster.host
                if cfg.cluster
                else f"{cfg.workgroup.name}.{ctx.account_id}.{ctx.region}.redshift-serverless.amazonaws.com"
            )
            password_secret_arn = cfg.password_secret_arn
            connection = pulumi.Output.from_input(
                RedshiftConnection(
                    host,
                    target.port,
                    target.database,
                    cfg.schema_name,
                    cfg.username,
                    cfg.password_secret_arn,
                    target.copy_role_arn,
                )
            )

        transformer = self._transformer(queue, transformed_objects)
        loader = self._loader(queue, connection, password_secret_arn, transformed_objects)

        self.warehouse = warehouse
        self.admit(LOADER, loader.service.security_group_id)

        self.queue_name = queue.name
        self.queue_arn = queue.arn
        self.connection = connection
        self.password_secret_arn = password_secret_arn
        self.transformer = transformer
        self.loader = loader
        self.lease_table_arn = transformer.lease_table_arn
        self.transformed_uri = pulumi.Output.concat("s3://", args.lake_bucket, f"/{TRANSFORMED_PREFIX}")
        self.signals = [
            Signal(
                name="redshift-transformer-iterator-age",
                namespace="AWS/Kinesis",
                metric_name="GetRecords.IteratorAgeMilliseconds",
                dimensions={"StreamName": args.enriched.name},
                threshold=TRANSFORMER_LAG_MS,
                description=(
                    "The oldest record read from the enriched stream is over 15 minutes old (the stream's figure, "
                    "the slowest of its consumers): if the Redshift transformer's logs show it behind, give it a "
                    "larger instance type (destinations.redshift.transformer.size.instanceType)."
                ),
            ),
            Signal(
                name="redshift-oldest-window",
                namespace="AWS/SQS",
                metric_name="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": queue.name},
                threshold=OLDEST_ANNOUNCEMENT_SECONDS,
                description=(
                    "A transformed window has waited over an hour to be loaded: the Redshift loader is down, "
                    "cannot log in, or COPY fails; read its log group and the warehouse's STL_LOAD_ERRORS."
                ),
            ),
            *(
                Signal(
                    name=f"{app}-not-running",
                    namespace="AWS/AutoScaling",
                    metric_name="GroupInServiceInstances",
                    dimensions={"AutoScalingGroupName": service.service.asg_name},
                    threshold=1,
                    statistic="Minimum",
                    comparison="LessThanThreshold",
                    treat_missing_data="breaching",
                    description=(
                        f"The {app} has no instance in service (it runs exactly one): read the group's activity "
                        "and the instance's boot log in its log group."
                    ),
                )
                for app, service in ((TRANSFORMER, transformer), (LOADER, loader))
            ),
        ]
        self.register_outputs(
            {
                "queue": queue.name,
                "leaseTable": transformer.lease_table_name,
                "transformerAsg": transformer.service.asg_name,
                "loaderAsg": loader.service.asg_name,
            }
        )

    def _copy_role(self, transformed_objects: pulumi.Output[str]) -> aws.iam.Role:
        """The role Redshift assumes for COPY: read the transformer's output and nothing else."""
        ctx, args = self._ctx, self._args
        role = aws.iam.Role(
            f"{self._name}-copy-role",
            name=ctx.short_name("redshift-copy", 64),
            description="Redshift COPY of the Snowplow transformer's output",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=ctx.tags_for(ctx.name("redshift-copy")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-copy-policy",
            name=ctx.short_name("redshift-copy", 64),
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {"Version": "2012-10-17", "Statement": read_transformed(ctx, args, transformed_objects)}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role

    def _generated_password(self) -> aws.secretsmanager.Secret:
        """The loader user's password, generated into a secret under the stack key (letters and digits, as
        Redshift requires one of each case and a digit)."""
        password = random.RandomPassword(
            f"{self._name}-loader-password",
            length=40,
            special=False,
            min_upper=1,
            min_lower=1,
            min_numeric=1,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return stack_secret(
            f"{self._name}-loader-password",
            self._ctx,
            "redshift/loader-password",
            f"Password of the Redshift user {self._args.config.username} the RDB loader logs in as",
            self._args.placement.kms_key_arn,
            self,
            value=password.result,
        )

    def _transformer(self, queue: aws.sqs.Queue, transformed_objects: pulumi.Output[str]) -> "_App":
        ctx, args = self._ctx, self._args
        cfg = args.config.transformer
        app_name = ctx.name(TRANSFORMER)
        table = lease_table(
            f"{self._name}-transformer-leases", ctx, app_name, cfg.lease_table, args.placement.kms_key_arn, self
        )
        hocon = pulumi.Output.all(args.lake_bucket, queue.name).apply(
            lambda v: hocon_text(
                render_transformer_config(
                    app_name=app_name,
                    stream=args.enriched.name,
                    region=ctx.region,
                    initial_position=cfg.initial_position,
                    output_path=f"s3://{v[0]}/{TRANSFORMED_PREFIX}",
                    bad_stream=args.failures.name,
                    queue_name=v[1],
                    window_minutes=cfg.window_minutes,
                    transformation_type=cfg.transformation_type,
                    telemetry=args.operations.telemetry,
                )
            )
        )
        key = args.placement.kms_key_arn
        statements = [
            *kcl_consumer(
                key,
                ctx.region,
                read=("ReadEnrichedStream", args.enriched.arn),
                write=("WriteTransformerFailures", [args.failures.arn]),
                table_arn=table.arn,
                table_name=table.name,
            ),
            {
                "Sid": "ListTransformedPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": args.lake_bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{TRANSFORMED_PREFIX}*"]}},
            },
            {
                "Sid": "WriteTransformedPrefix",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": transformed_objects,
            },
            key_for_s3(
                "StackKeyWritesTransformedPrefix", key, ctx.region, args.lake_bucket_arn, TRANSFORMED_PREFIX, write=True
            ),
            {
                "Sid": "AnnounceWindows",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
                "Resource": queue.arn,
            },
            stack_key_via(
                "StackKeyForQueue",
                key,
                "sqs",
                ctx.region,
                ["kms:GenerateDataKey", "kms:Decrypt"],
                ("StringEquals", "aws:sqs:arn", [queue.arn]),
            ),
        ]
        service = self._service(
            TRANSFORMER,
            REDSHIFT_TRANSFORMER_IMAGE,
            args.transformer_instance,
            cfg.size,
            {"transformer.hocon": hocon},
            statements,
            args.resolver_secret_arns,
            group_tags={"snowplow:kcl-app": app_name, "snowplow:input-stream": args.enriched.name},
        )
        return _App(service, table.name, table.arn)

    def _loader(
        self,
        queue: aws.sqs.Queue,
        connection: pulumi.Output[RedshiftConnection],
        password_secret_arn: pulumi.Input[str],
        transformed_objects: pulumi.Output[str],
    ) -> "_App":
        ctx, args = self._ctx, self._args
        cfg = args.config.loader
        hocon = pulumi.Output.all(queue.name, connection).apply(
            lambda v: hocon_text(
                render_loader_config(
                    region=ctx.region,
                    queue_name=v[0],
                    connection=v[1],
                    max_error=cfg.max_error,
                    telemetry=args.operations.telemetry,
                )
            )
        )
        statements = [
            {
                "Sid": "TakeWindowAnnouncements",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueUrl",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": queue.arn,
            },
            stack_key_via(
                "StackKeyForQueue",
                args.placement.kms_key_arn,
                "sqs",
                ctx.region,
                ["kms:Decrypt"],
                ("StringEquals", "aws:sqs:arn", [queue.arn]),
            ),
            # A window's shredding_complete.json, read again when the loader retries a folder.
            *read_transformed(ctx, args, transformed_objects),
        ]
        service = self._service(
            LOADER,
            REDSHIFT_LOADER_IMAGE,
            args.loader_instance,
            cfg.size,
            {"redshift-loader.hocon": hocon},
            statements,
            [password_secret_arn, *args.resolver_secret_arns],
        )
        return _App(service, None, None)

    def _service(self, app, image, instance, size, files, statements, secret_arns, group_tags=None) -> Ec2Service:
        ctx, args = self._ctx, self._args
        config_file = next(iter(files))
        return Ec2Service(
            f"{self._name}-{app.removeprefix('redshift-')}-service",
            Ec2ServiceArgs(
                context=ctx,
                app=app,
                image=image,
                instance=instance,
                size=size,
                placement=args.placement,
                operations=args.operations,
                files={**files, "iglu_resolver.json": ctx.from_config("iglu", args.resolver)},
                app_args=[
                    "--config",
                    f"/snowplow/config/{config_file}",
                    "--iglu-config",
                    "/snowplow/config/iglu_resolver.json",
                ],
                statements=statements,
                secret_arns=list(secret_arns),
                group_tags=group_tags or {},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def admit(self, app: str, app_sg: pulumi.Input[str]) -> None:
        """Let one app's security group reach the warehouse: the created workgroup admits it; an existing target
        admits it on its security group when named, and the app may leave to the warehouse's port (its group
        otherwise allows only HTTPS)."""
        if self.warehouse is not None:
            self.warehouse.admit(app, app_sg)
            return
        ctx, cfg = self._ctx, self._args.config
        target = cfg.cluster or cfg.workgroup
        if target.security_group_id is not None:
            admit_on_port(
                self,
                ctx,
                f"{self._name}-warehouse",
                "Redshift",
                target.security_group_id,
                app,
                app_sg,
                target.security_group_id,
                target.port,
            )
        for i, cidr in enumerate(target.egress_cidrs):
            v6 = ":" in cidr
            aws.vpc.SecurityGroupEgressRule(
                f"{self._name}-{app.removeprefix('redshift-')}-to-warehouse-{i}",
                security_group_id=app_sg,
                description=f"Redshift at {cidr}",
                ip_protocol="tcp",
                from_port=target.port,
                to_port=target.port,
                cidr_ipv4=None if v6 else cidr,
                cidr_ipv6=cidr if v6 else None,
                tags=ctx.tags_for(f"{ctx.name(app)}-to-warehouse-{i}"),
                opts=pulumi.ResourceOptions(parent=self),
            )


@dataclass(frozen=True)
class _App:
    service: Ec2Service
    lease_table_name: pulumi.Output[str] | None
    lease_table_arn: pulumi.Output[str] | None


def read_transformed(ctx: StackContext, args: RedshiftDestinationArgs, transformed_objects) -> list[dict]:
    """Read-only access to the transformer's output: list the prefix, get its objects, decrypt them via S3."""
    return [
        {
            "Sid": "ListTransformedPrefixToRead",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": args.lake_bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{TRANSFORMED_PREFIX}*"]}},
        },
        {
            "Sid": "LocateLakeBucket",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": args.lake_bucket_arn,
        },
        {
            "Sid": "ReadTransformedPrefix",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": transformed_objects,
        },
        key_for_s3(
            "StackKeyReadsTransformedPrefix",
            args.placement.kms_key_arn,
            ctx.region,
            args.lake_bucket_arn,
            TRANSFORMED_PREFIX,
        ),
    ]

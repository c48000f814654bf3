"""What the warehouse loaders built on Snowplow's common-streams share: a credential taken from a Secrets Manager
ARN or stored from a `--secret` value, the instances reading the enriched stream (KCL on a pre-created lease
table, failures to bad-2) with their health port open only to their own group, and their signals."""

import pulumi
import pulumi_aws as aws

from components.apps.consumer_configs import HEALTH_PROBE_PORT
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, InstanceFacts, Placement
from components.apps.iam import kcl_consumer
from components.context import StackContext
from components.observability.signals import Signal
from components.platform.secrets import stack_secret
from components.platform.streams import StreamInfo
from stack_config.apps import OperationsConfig, ServiceSize
from stack_config.warehouses import SECRETS_KEY

# Five minutes behind at the worst shard, three periods in a row: the loader is down, too small or stuck on
# a warehouse-side setup error (its logs say which).
ITERATOR_AGE_THRESHOLD_MS = 300_000


def credential_secret_arn(
    resource_name: str,
    ctx: StackContext,
    parent: pulumi.Resource,
    kms_key_arn: pulumi.Input[str],
    given_arn: str | None,
    value: str | None,
    path: str,
    description: str,
) -> pulumi.Input[str]:
    """The ARN the loader reads its credential from: the one given in config, or a stack secret (encrypted with
    the stack key) holding the `destinationSecrets` value, which stays a Pulumi secret throughout."""
    if given_arn is not None:
        return given_arn
    if value is None:
        raise ValueError(f"{path}: neither a secret ARN nor a value (stack_config should have refused this)")
    secret = stack_secret(
        resource_name, ctx, path, description, kms_key_arn, parent, value=ctx.from_config(SECRETS_KEY, value)
    )
    return secret.arn


def stream_loader_service(
    name: str,
    parent: pulumi.Resource,
    ctx: StackContext,
    app: str,
    image: str,
    instance: InstanceFacts,
    size: ServiceSize,
    placement: Placement,
    operations: OperationsConfig,
    enriched: StreamInfo,
    failures: StreamInfo,
    lease_table: aws.dynamodb.Table,
    files: dict[str, pulumi.Input[str]],
    app_args: list[str],
    secret_arns: list[pulumi.Input[str]],
) -> Ec2Service:
    """The loader's instances: a KCL consumer of `enriched` (app name `ctx.name(app)`, on `lease_table`) writing
    failures to `failures`, probed on its health port, which only its own group may reach."""
    service = Ec2Service(
        f"{name}-service",
        Ec2ServiceArgs(
            context=ctx,
            app=app,
            image=image,
            instance=instance,
            size=size,
            placement=placement,
            operations=operations,
            files=files,
            app_args=app_args,
            statements=kcl_consumer(
                placement.kms_key_arn,
                ctx.region,
                read=("ReadEnrichedStream", enriched.arn),
                write=("WriteLoaderFailures", [failures.arn]),
                table_arn=lease_table.arn,
                table_name=lease_table.name,
            ),
            secret_arns=secret_arns,
            group_tags={"snowplow:kcl-app": ctx.name(app), "snowplow:input-stream": enriched.name},
            health_port=HEALTH_PROBE_PORT,
            health_path="/",
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    health_port_within_group(f"{name}-health", ctx, app, service.security_group_id, parent)
    return service


def health_port_within_group(
    resource_name: str, ctx: StackContext, app: str, security_group_id: pulumi.Input[str], parent: pulumi.Resource
) -> aws.vpc.SecurityGroupIngressRule:
    """The health probe and its Prometheus /metrics, reachable only from instances of the same group."""
    return aws.vpc.SecurityGroupIngressRule(
        resource_name,
        security_group_id=security_group_id,
        description=f"{app} health probe and /metrics, from its own instances only",
        ip_protocol="tcp",
        from_port=HEALTH_PROBE_PORT,
        to_port=HEALTH_PROBE_PORT,
        referenced_security_group_id=security_group_id,
        tags=ctx.tags_for(ctx.name(f"{app}-health")),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def stream_loader_signals(app: str, stream_name: str, asg_name: pulumi.Input[str], min_size: int) -> list[Signal]:
    """Kinesis reports iterator age per stream, not per consumer: the loaders' KCL (common-streams) publishes no
    CloudWatch metrics of its own, so a lagging loader shows as the enriched stream's age, shared with its
    other consumers. Loader-specific numbers (events_good, events_bad, latency) are only on its /metrics."""
    return [
        Signal(
            name=f"{app}-iterator-age",
            namespace="AWS/Kinesis",
            metric_name="GetRecords.IteratorAgeMilliseconds",
            dimensions={"StreamName": stream_name},
            threshold=ITERATOR_AGE_THRESHOLD_MS,
            evaluation_periods=3,
            description=(
                f"The oldest unread record of the enriched stream {stream_name} is over 5 minutes old. It is read by "
                f"{app} and the stack's other consumers: check which is behind in its log group (setup errors such "
                "as missing grants are logged), then its instances' CPU; add instances up to the stream's shards."
            ),
        ),
        Signal(
            name=f"{app}-in-service",
            namespace="AWS/AutoScaling",
            metric_name="GroupInServiceInstances",
            dimensions={"AutoScalingGroupName": asg_name},
            threshold=min_size,
            statistic="Minimum",
            comparison="LessThanThreshold",
            evaluation_periods=3,
            treat_missing_data="breaching",
            description=(
                f"Fewer than {min_size} {app} instances in service for 15 minutes: instances fail their boot or "
                "health checks; the reason is in the `<instance-id>-health` streams of the app's log group."
            ),
        ),
    ]

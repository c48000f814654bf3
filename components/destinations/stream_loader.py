"""What the warehouse loaders built on Snowplow's common-streams share: a credential taken from a Secrets Manager
ARN or stored from a `--secret` value, their health port open only to their own group, and their signals."""

import pulumi
import pulumi_aws as aws

from components.apps.consumer_configs import HEALTH_PROBE_PORT
from components.context import StackContext
from components.observability.signals import Signal
from components.platform.secrets import stack_secret
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

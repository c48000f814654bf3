"""The signals the pipeline's own resources give: one builder per kind of resource, used by the components that
own them (a stream's consumer, an Auto Scaling group, a lease table, a load balancer, the lake)."""

from typing import TYPE_CHECKING

import pulumi

from components.observability.signals import MetricMath, MetricRef, Signal

if TYPE_CHECKING:  # streams builds its own signals from this module
    from components.platform.streams import StreamInfo

FIVE_MINUTES = 300
HOUR_MS = 3_600_000


def iterator_age(stream: "StreamInfo", percent: int, reader: str) -> Signal:
    """How far the slowest reader of `stream` is behind, against the stream's retention.

    Kinesis publishes the age per stream (its slowest consumer), so every consumer of one stream exposes the same
    signal, naming itself in `extra["reader"]`, and the observability layer makes one alarm of them. No data
    means nobody calls GetRecords (every reader stopped): that breaches too.
    """
    return Signal(
        name=f"{stream.logical}-iterator-age",
        namespace="AWS/Kinesis",
        metric_name="GetRecords.IteratorAgeMilliseconds",
        dimensions={"StreamName": stream.name},
        threshold=stream.retention_hours * HOUR_MS * percent / 100,
        statistic="Maximum",
        period_seconds=FIVE_MINUTES,
        evaluation_periods=3,
        treat_missing_data="breaching",
        unit_hint="ms",
        extra={"reader": reader},
        description=(
            f"The oldest unread record of Kinesis stream {stream.name} is older than {percent}% of its "
            f"{stream.retention_hours}h retention, or nobody has read the stream for 15 minutes; records older "
            "than the retention are dropped unread. Check each reader's Auto Scaling group has instances in "
            "service and read its log group; if readers are healthy but CPU-bound, raise their maxSize (up to "
            "the stream's shards) or add shards."
        ),
    )


def incoming_records(stream_name: str, threshold: float, description: str, name: str) -> Signal:
    return Signal(
        name=name,
        namespace="AWS/Kinesis",
        metric_name="IncomingRecords",
        dimensions={"StreamName": stream_name},
        threshold=threshold,
        statistic="Sum",
        period_seconds=FIVE_MINUTES,
        description=description,
        unit_hint="records",
    )


def in_service_below_minimum(app: str, asg_name: pulumi.Input[str], min_size: int, log_group: str) -> Signal:
    """Fewer instances in service than the group's minimum for ten minutes (group metrics are enabled)."""
    return Signal(
        name=f"{app}-instances-in-service",
        namespace="AWS/AutoScaling",
        metric_name="GroupInServiceInstances",
        dimensions={"AutoScalingGroupName": asg_name},
        threshold=min_size,
        comparison="LessThanThreshold",
        statistic="Minimum",
        period_seconds=FIVE_MINUTES,
        evaluation_periods=2,
        treat_missing_data="missing",
        unit_hint="instances",
        description=(
            f"Fewer than {min_size} {app} instance(s) in service for 10 minutes. Instances that fail their boot "
            "check mark themselves Unhealthy and are replaced: read the group's activity history "
            "(aws autoscaling describe-scaling-activities --auto-scaling-group-name <group>) and the app's "
            f"log group {log_group}; a launch error (capacity, quota, key) shows in the activity history."
        ),
    )


def lease_table_throttles(app: str, table_name: str) -> Signal:
    """Read and write throttle events on a KCL lease table: throttled lease renewals stall or duplicate work."""
    dims = {"TableName": table_name}
    return Signal(
        name=f"{app}-lease-throttles",
        namespace="AWS/DynamoDB",
        metric_name="WriteThrottleEvents",
        dimensions=dims,
        threshold=0,
        statistic="Sum",
        period_seconds=FIVE_MINUTES,
        unit_hint="events",
        math=MetricMath(
            expression="FILL(reads, 0) + FILL(writes, 0)",
            label="throttle events",
            metrics=(
                MetricRef("reads", "AWS/DynamoDB", "ReadThrottleEvents", dims),
                MetricRef("writes", "AWS/DynamoDB", "WriteThrottleEvents", dims),
            ),
        ),
        description=(
            f"DynamoDB throttled the KCL lease table {table_name} of {app}: workers that cannot renew or take "
            "leases stop reading shards (the stream falls behind) or process records twice. With PROVISIONED "
            "billing raise the leaseTable readCapacity/writeCapacity of this app, or switch it to PAY_PER_REQUEST."
        ),
    )


def load_balancer_signals(
    app: str,
    label: str,
    lb_suffix: pulumi.Input[str],
    tg_suffix: pulumi.Input[str],
    error_percent: float,
    p99_seconds: float | None,
    log_group: str,
) -> list[Signal]:
    """5xx rate (load balancer's own and the targets'), p99 latency and unhealthy targets of an app's ALB."""
    lb = {"LoadBalancer": lb_suffix}
    both = {"LoadBalancer": lb_suffix, "TargetGroup": tg_suffix}
    signals = [
        Signal(
            name=f"{app}-5xx-rate",
            namespace="AWS/ApplicationELB",
            metric_name="RequestCount",
            dimensions=lb,
            threshold=error_percent,
            statistic="Sum",
            period_seconds=FIVE_MINUTES,
            evaluation_periods=2,
            unit_hint="%",
            math=MetricMath(
                expression="100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests",
                label="5xx % of requests",
                metrics=(
                    MetricRef("requests", "AWS/ApplicationELB", "RequestCount", lb),
                    MetricRef("elb5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb),
                    MetricRef("target5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb),
                ),
            ),
            description=(
                f"More than {error_percent:g}% of {label} requests failed with 5xx for 10 minutes. ELB 5xx "
                "(502/503/504) mean no healthy target answered: see the unhealthy-hosts alarm and the instances; "
                f"target 5xx come from the app itself: read its log group {log_group}."
            ),
        ),
        Signal(
            name=f"{app}-unhealthy-hosts",
            namespace="AWS/ApplicationELB",
            metric_name="UnHealthyHostCount",
            dimensions=both,
            threshold=0,
            statistic="Maximum",
            period_seconds=60,
            evaluation_periods=5,
            unit_hint="hosts",
            description=(
                f"A {label} instance failed the load balancer's health check for 5 minutes. The Auto Scaling "
                "group (ELB health checks) replaces it; if it keeps happening read the app's log group "
                f"{log_group} and the target group's health reasons (aws elbv2 describe-target-health)."
            ),
        ),
    ]
    if p99_seconds is not None:
        signals.append(
            Signal(
                name=f"{app}-p99-latency",
                namespace="AWS/ApplicationELB",
                metric_name="TargetResponseTime",
                dimensions=lb,
                threshold=p99_seconds,
                statistic="p99",
                period_seconds=FIVE_MINUTES,
                evaluation_periods=2,
                unit_hint="s",
                description=(
                    f"The slowest 1% of {label} responses took more than {p99_seconds:g}s for 10 minutes: trackers "
                    "time out and retry. Look at the instances' CPU (the group scales on it; raise maxSize if it "
                    "is at its maximum) and at the sink: a slow Kinesis write (throttled raw stream) backs up "
                    "the collector, so check the raw stream's WriteProvisionedThroughputExceeded."
                ),
            )
        )
    return signals


def database_free_storage(purpose: str, identifier: str, allocated_gib: int, autoscaling: bool) -> Signal:
    """Free storage of an RDS instance: below 10% of its size, or 5% when storage autoscaling (which acts at 10%)
    should have grown it already."""
    share = 0.05 if autoscaling else 0.10
    return Signal(
        name=f"{purpose}-free-storage",
        namespace="AWS/RDS",
        metric_name="FreeStorageSpace",
        dimensions={"DBInstanceIdentifier": identifier},
        threshold=allocated_gib * share * 2**30,
        comparison="LessThanThreshold",
        statistic="Minimum",
        period_seconds=FIVE_MINUTES,
        evaluation_periods=2,
        unit_hint="bytes",
        description=(
            f"RDS instance {identifier} has less than {share:.0%} of its {allocated_gib} GiB free for 10 minutes"
            + (
                ", and storage autoscaling has not grown it (it is at maxAllocatedStorage, or within its 6-hour "
                "cooldown): raise maxAllocatedStorage. "
                if autoscaling
                else ": raise allocatedStorage or set maxAllocatedStorage to let RDS grow it. "
            )
            + "A full database stops accepting writes: loads and schema publishing fail."
        ),
    )


def lake_freshness(bucket: pulumi.Input[str], filter_id: str, prefix: str, minutes: int, max_delay: int) -> Signal:
    """No PUT under `prefix` for `minutes`: S3 request metrics of a filter on the prefix; no data breaches."""
    return Signal(
        name="lake-freshness",
        namespace="AWS/S3",
        metric_name="PutRequests",
        dimensions={"BucketName": bucket, "FilterId": filter_id},
        threshold=1,
        comparison="LessThanThreshold",
        statistic="Sum",
        period_seconds=FIVE_MINUTES,
        evaluation_periods=minutes // 5,
        treat_missing_data="breaching",
        unit_hint="PUTs",
        description=(
            f"No object was written under {prefix} in the lake for {minutes} minutes (the loader writes at least "
            f"every {max_delay}s while events flow). If the collector still receives requests, follow the path: "
            "enriched stream IncomingRecords (is enrich writing?), its iterator age (is the S3 loader reading?), "
            "then the S3 loader's log group (S3 or KMS access errors). Request metrics start about 15 minutes "
            "after the filter is created."
        ),
    )

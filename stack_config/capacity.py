"""Sizing from expected traffic: `snowplow:traffic` -> Kinesis shards, ASG bounds and lease-table capacity.

Every derived value is a default: a value set in the stack file wins, and `capacity_notes` warns (naming the key)
when it cannot carry the configured peak. The assumptions are the table below and the stream facts; README
"Capacity and cost" repeats them.

Per-instance throughput (sustained events/s per usable vCPU, one event per Kinesis record):

| app               | events/s per vCPU | source |
|-------------------|-------------------|--------|
| collector         | 500  | Snowplow's quick start runs the collector on one t3a.micro (0.2 vCPU at its burst baseline) for "~100 events/s" (docs.snowplow.io self-hosted quick start; discourse.snowplow.io/t/handle-up-events-per-second/7783) |
| enrich            | 250  | same quick start: enrich on one t3a.small (0.4 vCPU baseline) for ~100 events/s |
| s3LoaderEnriched  | 1000 | quick start: S3 loader on one t3a.micro; the loader only gzips and batches (assumption: 2x the collector) |
| s3LoaderBad       | 1000 | as above, on the bad-rows share |
| postgresLoader    | 200  | quick start <= 25.06 ran it on one t3a.micro for the same ~100 events/s (0.2 vCPU -> 500/vCPU); halved: one INSERT per event and table per schema |

These are floors derived from one public data point, not benchmarks of ours: replace them with measured
figures when a load test exists. Usable vCPU = vCPUs x the burst baseline for T-family types (AWS: t3/t3a/t4g
baseline per vCPU 5% nano, 10% micro, 20% small/medium, 30% large, 40% xlarge/2xlarge; docs.aws.amazon.com/ec2/
latest/instancetypes/gp.html "burstable performance"), else vCPUs x the app's `cpuTarget` (the ASG scales at it).
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import Field, ValidationInfo, field_validator

from stack_config.base import ConfigModel, environment_default

# Kinesis provisioned shard write limits (docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html).
SHARD_WRITE_BYTES_PER_SECOND = 1_048_576  # 1 MiB/s
SHARD_WRITE_RECORDS_PER_SECOND = 1_000
# An enriched event is the 131-field TSV plus the enrichments' derived contexts (ua_parser, yauaa, ...): about
# 3 KB for a ~1 KB raw payload (field-by-field estimate of a web page view; reference loaders-formats-prices §5).
ENRICHED_SIZE_FACTOR = 3.0
BAD_ROW_SHARE = 0.05  # share of events that fail (schema, size, enrichment); assumption, bad1 is sized on it
BAD_ROW_SIZE_FACTOR = 2.0  # a bad row carries the base64 payload (4/3) plus the failure messages
# KCL 2 lease table load per shard: a renewal every leaseDuration/3 (10 s -> ~0.3 writes/s) plus a checkpoint
# every debounceCheckpoints (10 s -> 0.1/s); lease takers scan the table every few seconds (reads).
LEASE_WRITES_PER_SHARD = 0.4
LEASE_READS_PER_SHARD = 0.5
MIN_LEASE_CAPACITY = 5

CAPACITY_CONTEXT = "capacity"  # validation-context entry: the CapacityPlan of the config being validated
SHARDS_CONTEXT = "shards"  # validation-context entry: effective shard counts {stream: n}
INPUT_STREAM_CONTEXT = "inputStream"  # validation-context entry: the stream the consumer being validated reads


class Throughput(NamedTuple):
    events_per_vcpu: float
    load: str  # which events the app handles: "events" (all) or "bad" (the bad-rows share)
    input_stream: str | None  # the Kinesis stream it consumes (KCL consumers never outnumber its shards)
    ha_minimum_prod: int  # instances kept in prod whatever the traffic (multi-AZ)


THROUGHPUT: dict[str, Throughput] = {
    "collector": Throughput(500, "events", None, 2),
    "enrich": Throughput(250, "events", "raw", 2),
    "s3LoaderEnriched": Throughput(1000, "events", "enriched", 1),
    "s3LoaderBad": Throughput(1000, "bad", "bad1", 1),
    "postgresLoader": Throughput(200, "events", "enriched", 1),
}

BURST_BASELINE = {"nano": 0.05, "micro": 0.10, "small": 0.20, "medium": 0.20, "large": 0.30, "xlarge": 0.40}
BURST_BASELINE_2XL = 0.40
BURSTABLE_FAMILIES = ("t2", "t3", "t3a", "t4g")


def vcpus(instance_type: str) -> int:
    """vCPUs of a current-generation type by its size name (T-family nano..large have 2)."""
    family, size = instance_type.split(".", 1)
    if family.startswith("t") and size == "medium":  # 1 in other families; T-family nano..large all have 2
        return 2
    fixed = {"medium": 1, "xlarge": 4}  # large and the sizes below it have 2 (the fallback)
    if size in fixed:
        return fixed[size]
    if size.endswith("xlarge") and size[:-6].isdigit():
        return 4 * int(size[:-6])
    return 2


def usable_vcpus(instance_type: str, cpu_target: int) -> float:
    family, size = instance_type.split(".", 1)
    if family in BURSTABLE_FAMILIES:
        return vcpus(instance_type) * BURST_BASELINE.get(size, BURST_BASELINE_2XL)
    return vcpus(instance_type) * cpu_target / 100


def instance_throughput(app: str, instance_type: str, cpu_target: int) -> float:
    """Events/s one instance of `app` carries for ever (not on burst credits)."""
    return THROUGHPUT[app].events_per_vcpu * usable_vcpus(instance_type, cpu_target)


class TrafficConfig(ConfigModel):
    """The traffic the stack is sized for: peak events/s, the average raw event size, and headroom above the peak."""

    peak_events_per_second: int | None = Field(None, ge=1, le=1_000_000, validate_default=True)
    average_event_bytes: int = Field(1_000, ge=100, le=1_000_000)
    headroom: float = Field(1.5, ge=1.0, le=10.0)

    @field_validator("peak_events_per_second")
    @classmethod
    def _peak_default(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, dev=100, prod=1_000)


@dataclass(frozen=True)
class StreamLoad:
    records_per_second: float
    bytes_per_second: float

    def shards(self) -> int:
        return max(
            1,
            math.ceil(self.records_per_second / SHARD_WRITE_RECORDS_PER_SECOND - 1e-9),
            math.ceil(self.bytes_per_second / SHARD_WRITE_BYTES_PER_SECOND - 1e-9),
        )


@dataclass(frozen=True)
class CapacityPlan:
    """What the configured traffic asks of each stream and app (design load = peak x headroom)."""

    peak: int
    event_bytes: int
    headroom: float
    prod: bool
    # app -> (instance type, cpu target) of the KCL consumers the stack runs: a stream gets at least one shard
    # per consumer instance its peak needs, since a consumer never uses more instances than shards
    consumers: tuple[tuple[str, str, int], ...] = ()

    @classmethod
    def of(cls, traffic: TrafficConfig, environment: str | None, consumers=()) -> "CapacityPlan":
        return cls(
            traffic.peak_events_per_second,
            traffic.average_event_bytes,
            traffic.headroom,
            environment == "prod",
            tuple(consumers),
        )

    def stream_loads(self, events_per_second: float) -> dict[str, StreamLoad]:
        bad = events_per_second * BAD_ROW_SHARE
        raw_bytes = self.event_bytes
        return {
            "raw": StreamLoad(events_per_second, events_per_second * raw_bytes),
            "enriched": StreamLoad(events_per_second, events_per_second * raw_bytes * ENRICHED_SIZE_FACTOR),
            "bad1": StreamLoad(bad, bad * raw_bytes * BAD_ROW_SIZE_FACTOR),
            "bad2": StreamLoad(0, 0),  # failures of the bad-rows loader: rare
        }

    def design_loads(self) -> dict[str, StreamLoad]:
        return self.stream_loads(self.peak * self.headroom)

    def shards(self) -> dict[str, int]:
        counts = {stream: load.shards() for stream, load in self.design_loads().items()}
        for app, instance_type, cpu_target in self.consumers:
            stream = THROUGHPUT[app].input_stream
            counts[stream] = max(counts[stream], self.instances_needed(app, instance_type, cpu_target)[1])
        return counts

    def instances_needed(self, app: str, instance_type: str, cpu_target: int) -> tuple[int, int]:
        """(min, max) instances before any shard limit: min carries the peak, max the peak x headroom."""
        each = instance_throughput(app, instance_type, cpu_target)
        floor = THROUGHPUT[app].ha_minimum_prod if self.prod else 1
        low = max(floor, math.ceil(self.app_load(app) / each - 1e-9))
        return low, max(low, math.ceil(self.app_load(app) * self.headroom / each - 1e-9))

    def app_load(self, app: str) -> float:
        share = BAD_ROW_SHARE if THROUGHPUT[app].load == "bad" else 1.0
        return self.peak * share

    def instances(self, app: str, instance_type: str, cpu_target: int, shards: dict[str, int]) -> tuple[int, int]:
        """(min, max) instances: min carries the peak, max the peak x headroom; KCL consumers stop at their
        input stream's shard count."""
        low, high = self.instances_needed(app, instance_type, cpu_target)
        if THROUGHPUT[app].input_stream is not None:
            limit = shards.get(THROUGHPUT[app].input_stream, high)
            low, high = min(low, limit), min(high, limit)
        return low, high

    def lease_capacity(self, shards: int) -> tuple[int, int]:
        """(read, write) capacity units of a provisioned KCL lease table for a stream of `shards`."""
        return (
            max(MIN_LEASE_CAPACITY, math.ceil(shards * LEASE_READS_PER_SHARD * self.headroom)),
            max(MIN_LEASE_CAPACITY, math.ceil(shards * LEASE_WRITES_PER_SHARD * self.headroom)),
        )


def plan_from(info: ValidationInfo) -> CapacityPlan:
    """The plan stored by StackConfig's `traffic` validator, else the environment's default traffic."""
    context = info.context or {}
    plan = context.get(CAPACITY_CONTEXT)
    if plan is None:
        traffic = TrafficConfig.model_validate({}, context=context)
        plan = CapacityPlan.of(traffic, context.get("environment"))
    return plan


def shards_from(info: ValidationInfo) -> dict[str, int]:
    context = info.context or {}
    return context.get(SHARDS_CONTEXT) or plan_from(info).shards()


def capacity_notes(config) -> list[str]:
    """Warnings for values set in the stack file that cannot carry `snowplow:traffic`; each names its key."""
    plan, notes = config.capacity, []
    traffic = (
        f"snowplow:traffic (peak {plan.peak:,} events/s x headroom {plan.headroom:g}, "
        f"{plan.event_bytes:,} bytes per raw event)"
    )
    needed = plan.shards()
    streams = config.streams
    if streams.mode == "PROVISIONED":
        for stream in sorted(streams.shards.model_fields_set):
            have = getattr(streams.shards, stream)
            if have < needed[stream]:
                notes.append(
                    f"snowplow:streams.shards.{stream}: {have} shard(s) are fewer than the {needed[stream]} that "
                    f"{traffic} needs (1 MiB/s and 1,000 records/s per shard, one shard per consumer instance): "
                    "writes will be throttled at the peak; raise it or remove it to derive it"
                )
    shards = streams.shards.counts()
    for _, key, size in config.app_sizes():
        if size.app not in THROUGHPUT or "max_size" not in size.model_fields_set:
            continue
        low, high = plan.instances_needed(size.app, size.instance_type, size.cpu_target)
        stream = THROUGHPUT[size.app].input_stream
        high = min(high, shards[stream]) if stream else high
        if size.max_size < high:
            each = instance_throughput(size.app, size.instance_type, size.cpu_target)
            notes.append(
                f"snowplow:{key}.size.maxSize: {size.max_size} x {size.instance_type} carry about "
                f"{size.max_size * each:,.0f} events/s but {traffic} needs {high}; raise maxSize or choose a larger "
                "instanceType"
            )
    for key, consumer in (
        ("enrich", config.enrich),
        ("loaders.enriched", config.loaders.enriched),
        ("loaders.bad", config.loaders.bad),
        ("destinations.postgres", config.destinations.postgres),
    ):
        table = consumer.lease_table
        if table.billing_mode != "PROVISIONED":
            continue
        read, write = plan.lease_capacity(shards[consumer.input_stream])
        for field, have, want in (
            ("readCapacity", table.read_capacity, read),
            ("writeCapacity", table.write_capacity, write),
        ):
            if have < want:
                notes.append(
                    f"snowplow:{key}.leaseTable.{field}: {have} is below the {want} units a KCL lease table needs "
                    f"for {shards[consumer.input_stream]} shards: lease renewals will be throttled; raise it"
                )
    return notes


# NAT gateway versus interface endpoint, us-east-1 list prices (reference loaders-formats-prices §7: infracost
# nat_gateway_test and vpc_endpoint_test goldens; aws.amazon.com/privatelink/pricing). Other regions keep
# roughly the same ratio, which is all the choice depends on.
NAT_USD_PER_GB = 0.045
ENDPOINT_USD_PER_AZ_HOUR = 0.01
ENDPOINT_USD_PER_GB = 0.01
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
# What each app sends to CloudWatch (Logs: its container log; monitoring: metrics), GB a month per instance:
# an assumption (a JVM app logging at INFO), kept small on purpose so logs never tip the choice by guesswork.
LOG_GB_PER_INSTANCE_MONTH = 1.0
METRICS_GB_PER_INSTANCE_MONTH = 0.1
READERS = {"raw": 1, "enriched": 1, "bad1": 1, "bad2": 1}  # KCL apps reading each stream (before destinations)


def kinesis_gb_per_month(plan: CapacityPlan) -> float:
    """Bytes to and from Kinesis a month at a sustained peak: each stream written once and read by its readers."""
    loads = plan.stream_loads(plan.peak)
    per_second = sum(load.bytes_per_second * (1 + READERS[stream]) for stream, load in loads.items())
    return per_second * SECONDS_PER_MONTH / 1e9


def endpoint_saving(gb_per_month: float, azs: int) -> float:
    """USD a month saved by sending `gb_per_month` through an interface endpoint in `azs` AZs instead of NAT."""
    return gb_per_month * (NAT_USD_PER_GB - ENDPOINT_USD_PER_GB) - azs * ENDPOINT_USD_PER_AZ_HOUR * HOURS_PER_MONTH


def cheaper_interface_endpoints(plan: CapacityPlan, azs: int) -> list[str]:
    """The interface endpoints that cost less than the NAT processing they replace, at the configured peak."""
    instances = 4 * (2 if plan.prod else 1)
    volumes = {
        "kinesis-streams": kinesis_gb_per_month(plan),
        "logs": instances * LOG_GB_PER_INSTANCE_MONTH,
        "monitoring": instances * METRICS_GB_PER_INSTANCE_MONTH,
    }
    return [service for service, gb in volumes.items() if endpoint_saving(gb, azs) > 0]

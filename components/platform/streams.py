"""Kinesis streams that carry events between the apps, encrypted with the stack key."""

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.observability.metrics import incoming_records
from components.observability.signals import Graph, MetricRef, Signal
from stack_config.capacity import CapacityPlan
from stack_config.observability import AlarmThresholds
from stack_config.platform import StreamsConfig

# logical stream -> (physical suffix, what it carries)
STREAMS = {
    "raw": ("raw", "collector payloads"),
    "enriched": ("enriched", "enriched events"),
    "bad1": ("bad-1", "failed events from collector, enrich and the enriched loader"),
    "bad2": ("bad-2", "failures of the bad-rows loader"),
}


@dataclass(frozen=True)
class StreamInfo:
    """What a consumer or producer needs to know about one stream."""

    logical: str
    name: str
    arn: pulumi.Output[str]
    retention_hours: int = 24


@dataclass
class StreamsArgs:
    context: StackContext
    config: StreamsConfig
    kms_key_arn: pulumi.Input[str]
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    capacity: CapacityPlan | None = None  # tags each stream with its load at the peak (read by the policy pack)


# Tags carrying the configured traffic to the policy pack (shard coverage, cost budget).
PEAK_EVENTS_TAG = "snowplow:peak-events-per-second"
PEAK_RECORDS_TAG = "snowplow:peak-records-per-second"
PEAK_BYTES_TAG = "snowplow:peak-bytes-per-second"


def load_tags(plan: CapacityPlan | None, logical: str) -> dict[str, str]:
    if plan is None:
        return {}
    load = plan.stream_loads(plan.peak)[logical]
    return {
        PEAK_EVENTS_TAG: str(plan.peak),
        PEAK_RECORDS_TAG: f"{load.records_per_second:g}",
        PEAK_BYTES_TAG: f"{load.bytes_per_second:g}",
    }


class Streams(pulumi.ComponentResource):
    def __init__(self, name: str, args: StreamsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Streams", name, None, opts)
        ctx, cfg = args.context, args.config
        provisioned = cfg.mode == "PROVISIONED"
        self.by_name: dict[str, StreamInfo] = {}
        for logical, (suffix, carries) in STREAMS.items():
            physical = ctx.name(suffix)
            shards = getattr(cfg.shards, logical) if provisioned else None
            stream = aws.kinesis.Stream(
                f"{name}-{suffix}",
                name=physical,
                shard_count=shards,
                stream_mode_details=aws.kinesis.StreamStreamModeDetailsArgs(stream_mode=cfg.mode),
                retention_period=cfg.retention_hours,
                encryption_type="KMS",
                kms_key_id=args.kms_key_arn,
                tags={**ctx.tags_for(physical), "snowplow:carries": carries, **load_tags(args.capacity, logical)},
                opts=ctx.stateful(self),
            )
            self.by_name[logical] = StreamInfo(logical, physical, stream.arn, cfg.retention_hours)
        self.signals = failed_event_signals(self.by_name["bad1"], self.by_name["bad2"], args.thresholds)
        self.graphs = [
            Graph(
                title,
                tuple(
                    MetricRef(f"s{i}", "AWS/Kinesis", metric, {"StreamName": s.name}, stat, s.name)
                    for i, s in enumerate(self.by_name.values())
                ),
                unit,
            )
            for title, metric, stat, unit in (
                ("records in, per stream", "IncomingRecords", "Sum", "records"),
                ("iterator age, per stream", "GetRecords.IteratorAgeMilliseconds", "Maximum", "ms"),
                ("write throttles, per stream", "WriteProvisionedThroughputExceeded", "Sum", "records"),
            )
        ]
        self.register_outputs({k: v.arn for k, v in self.by_name.items()})

    def __getitem__(self, logical: str) -> StreamInfo:
        return self.by_name[logical]


def failed_event_signals(bad1: StreamInfo, bad2: StreamInfo, thresholds: AlarmThresholds) -> list[Signal]:
    """bad-1 over a rate (some failed events are normal: bots, old trackers); bad-2 on anything (nobody reads it)."""
    limit = thresholds.bad_rows_per5_minutes
    return [
        incoming_records(
            bad1.name,
            limit,
            f"More than {limit} failed events reached {bad1.name} in 5 minutes (collector size violations, enrich "
            "schema or enrichment failures, loader failures). The bad-rows loader archives them under bad/ in "
            "the lake, partitioned by failure type: open the newest files to see which schema or tracker "
            "fails, then publish the missing schema or fix the tracker.",
            name="bad1-incoming",
        ),
        incoming_records(
            bad2.name,
            0,
            f"Records arrived on {bad2.name}: the bad-rows loader (or another loader) could not write failed "
            "events and nothing reads this stream, so they expire after its retention. Read them now "
            f"(aws kinesis get-shard-iterator / get-records on {bad2.name}) and fix what the loaders' log "
            "groups report (lake permissions, KMS, malformed rows).",
            name="bad2-incoming",
        ),
    ]

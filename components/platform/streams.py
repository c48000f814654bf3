"""Kinesis streams that carry events between the apps, encrypted with the stack key."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from stack_config.capacity import CapacityPlan
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
    shards: int | None


@dataclass
class StreamsArgs:
    context: StackContext
    config: StreamsConfig
    kms_key_arn: pulumi.Input[str]
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
            self.by_name[logical] = StreamInfo(logical, physical, stream.arn, shards)
        self.register_outputs({k: v.arn for k, v in self.by_name.items()})

    def __getitem__(self, logical: str) -> StreamInfo:
        return self.by_name[logical]

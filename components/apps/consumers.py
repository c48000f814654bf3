"""Kinesis consumers: Enrich (raw -> enriched) and the S3 loaders (stream -> lake)."""

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.apps.app_versions import ENRICH_IMAGE, S3_LOADER_IMAGE
from components.apps.consumer_configs import (
    HEALTH_PROBE_PORT,
    KinesisInput,
    render_enrich_config,
    render_s3_loader_config,
)
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.iam import kcl_consumer, key_for_s3, s3_uri_objects
from components.apps.lease_table import lease_table
from components.context import StackContext
from components.observability.metrics import iterator_age, lake_freshness, lease_table_throttles
from components.platform.streams import StreamInfo
from stack_config.apps import BadLoaderConfig, EnrichConfig, EnrichedLoaderConfig, OperationsConfig
from stack_config.observability import AlarmThresholds


@dataclass
class EnrichArgs:
    context: StackContext
    config: EnrichConfig
    operations: OperationsConfig
    instance: InstanceFacts
    placement: Placement
    raw: StreamInfo
    enriched: StreamInfo
    bad: StreamInfo
    enrichments: dict[str, dict]
    resolver: pulumi.Input[dict]
    secret_arns: list[pulumi.Input[str]] = field(default_factory=list)
    asset_s3_uris: list[str] = field(default_factory=list)
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)


class Enrich(pulumi.ComponentResource):
    def __init__(self, name: str, args: EnrichArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Enrich", name, None, opts)
        ctx, cfg, place = args.context, args.config, args.placement
        app_name = ctx.name("enrich")
        table = lease_table(f"{name}-leases", ctx, app_name, cfg.lease_table, place.kms_key_arn, self)
        files = {
            "enrich.hocon": ctx.from_config(
                "enrich",
                hocon_text(
                    render_enrich_config(
                        KinesisInput(args.raw.name, app_name, cfg.initial_position),
                        good=args.enriched.name,
                        bad=args.bad.name,
                        telemetry=args.operations.telemetry,
                    )
                ),
            ),
            "iglu_resolver.json": ctx.from_config(
                "iglu",
                pulumi.Output.from_input(args.resolver).apply(lambda resolver: json.dumps(resolver, indent=2) + "\n"),
            ),
            **{
                f"enrichments/{file}": ctx.from_config("enrich", json.dumps(doc, indent=2) + "\n")
                for file, doc in sorted(args.enrichments.items())
            },
        }
        statements = kcl_consumer(
            place.kms_key_arn,
            ctx.region,
            read=("ReadRawStream", args.raw.arn),
            write=("WriteEnrichedAndBadStreams", [args.enriched.arn, args.bad.arn]),
            table_arn=table.arn,
            table_name=table.name,
        )
        if args.asset_s3_uris:
            statements.append(
                {
                    "Sid": "ReadEnrichmentAssets",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": sorted({s3_uri_objects(u) for u in args.asset_s3_uris}),
                }
            )
        self.service = Ec2Service(
            f"{name}-service",
            Ec2ServiceArgs(
                context=ctx,
                app="enrich",
                image=ENRICH_IMAGE,
                instance=args.instance,
                size=cfg.size,
                placement=place,
                operations=args.operations,
                files=files,
                app_args=[
                    "--config",
                    "/snowplow/config/enrich.hocon",
                    "--iglu-config",
                    "/snowplow/config/iglu_resolver.json",
                    "--enrichments",
                    "/snowplow/config/enrichments",
                ],
                statements=statements,
                secret_arns=args.secret_arns,
                group_tags={"snowplow:kcl-app": app_name, "snowplow:input-stream": args.raw.name},
                health_port=HEALTH_PROBE_PORT,
                health_path="/",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.lease_table_name = table.name
        self.lease_table_arn = table.arn
        self.signals = [
            iterator_age(args.raw, args.thresholds.iterator_age_retention_percent, "enrich"),
            lease_table_throttles("enrich", app_name),
            *self.service.signals,
        ]
        self.register_outputs({"leaseTable": table.name, "asgName": self.service.asg_name})


@dataclass
class S3LoaderArgs:
    context: StackContext
    kind: str  # "enriched" or "bad"
    config: EnrichedLoaderConfig | BadLoaderConfig
    operations: OperationsConfig
    instance: InstanceFacts
    placement: Placement
    source: StreamInfo
    failures: StreamInfo
    lake_bucket: pulumi.Input[str]
    lake_bucket_arn: pulumi.Input[str]
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)


class S3Loader(pulumi.ComponentResource):
    """Archives one stream into the lake: enriched events as TSV, failed events partitioned by schema."""

    def __init__(self, name: str, args: S3LoaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:S3Loader", name, None, opts)
        ctx, cfg, place = args.context, args.config, args.placement
        app = f"s3-loader-{args.kind}"
        app_name = ctx.name(app)
        purpose = "ENRICHED_EVENTS" if args.kind == "enriched" else "SELF_DESCRIBING"
        table = lease_table(f"{name}-leases", ctx, app_name, cfg.lease_table, place.kms_key_arn, self)
        hocon = pulumi.Output.from_input(args.lake_bucket).apply(
            lambda bucket: hocon_text(
                render_s3_loader_config(
                    KinesisInput(args.source.name, app_name, cfg.initial_position),
                    purpose=purpose,
                    path=f"s3://{bucket}/{args.kind}/",
                    bad_stream=args.failures.name,
                    max_bytes=cfg.batching.max_bytes,
                    max_delay_seconds=cfg.batching.max_delay_seconds,
                )
            )
        )
        statements = [
            *kcl_consumer(
                place.kms_key_arn,
                ctx.region,
                read=("ReadSourceStream", args.source.arn),
                write=("WriteLoaderFailures", [args.failures.arn]),
                table_arn=table.arn,
                table_name=table.name,
            ),
            {
                "Sid": "WriteLakePrefix",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": pulumi.Output.concat(args.lake_bucket_arn, f"/{args.kind}/*"),
            },
            key_for_s3(
                "StackKeyWritesLakePrefix",
                place.kms_key_arn,
                ctx.region,
                args.lake_bucket_arn,
                f"{args.kind}/",
                write=True,
            ),
        ]
        self.service = Ec2Service(
            f"{name}-service",
            Ec2ServiceArgs(
                context=ctx,
                app=app,
                image=S3_LOADER_IMAGE,
                instance=args.instance,
                size=cfg.size,
                placement=place,
                operations=args.operations,
                files={"s3-loader.hocon": hocon},
                app_args=["--config", "/snowplow/config/s3-loader.hocon"],
                statements=statements,
                group_tags={"snowplow:kcl-app": app_name, "snowplow:input-stream": args.source.name},
                health_port=HEALTH_PROBE_PORT,
                health_path="/",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.lease_table_name = table.name
        self.lease_table_arn = table.arn
        self.signals = [
            iterator_age(args.source, args.thresholds.iterator_age_retention_percent, app),
            lease_table_throttles(app, app_name),
            *self.service.signals,
        ]
        if args.kind == "enriched":
            self.signals.append(self._lake_freshness(name, args))
        self.register_outputs({"leaseTable": table.name, "asgName": self.service.asg_name})

    def _lake_freshness(self, name: str, args: S3LoaderArgs):
        """S3 request metrics on the loader's prefix (billed like custom metrics: a few dollars a month) give
        PutRequests per 5 minutes; an alarm on their absence says the lake stopped receiving files."""
        prefix = f"{args.kind}/"
        metric = aws.s3.BucketMetric(
            f"{name}-writes",
            bucket=args.lake_bucket,
            name=f"{args.kind}-writes",
            filter=aws.s3.BucketMetricFilterArgs(prefix=prefix),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return lake_freshness(
            metric.bucket,
            f"{args.kind}-writes",
            prefix,
            args.thresholds.lake_freshness_minutes,
            args.config.batching.max_delay_seconds,
        )

"""The Databricks destination: the Databricks Streaming Loader from the enriched stream into a Unity Catalog volume.

Snowplow documents three ways into Databricks; on AWS the Lake Loader's Delta route is unsupported (Databricks
cannot use its DynamoDB commit lock) and the RDB Loader route is batch-only without failed events, so this is
the Streaming Loader: it reads the enriched stream with KCL (Polling) through a lease table created here, writes
parquet files into an external volume through the Databricks Files API with a personal access token read from
Secrets Manager at boot, and sends what it cannot load to bad-2. A Lakeflow Declarative Pipeline, created in
Databricks, loads the files into the events table. The loader resolves schemas through the same Iglu resolver
as enrich, so it may reach the stack's Iglu Server.
"""

import json
from dataclasses import dataclass, field

import pulumi

from components.apps.app_versions import DATABRICKS_LOADER_IMAGE
from components.apps.ec2_service import InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.lease_table import lease_table
from components.context import StackContext
from components.destinations.databricks_loader_config import DatabricksVolume, render_databricks_loader_config
from components.destinations.stream_loader import (
    credential_secret_arn,
    stream_loader_service,
    stream_loader_signals,
)
from components.platform.streams import StreamInfo
from stack_config.apps import OperationsConfig
from stack_config.warehouses import DatabricksDestination, DestinationSecrets

APP = "databricks-loader"
CONFIG_FILE = "databricks-loader.hocon"
RESOLVER_FILE = "iglu_resolver.json"


@dataclass
class DatabricksLoaderArgs:
    context: StackContext
    config: DatabricksDestination
    secrets: DestinationSecrets
    operations: OperationsConfig
    instance: InstanceFacts
    placement: Placement
    enriched: StreamInfo
    failures: StreamInfo
    resolver: pulumi.Input[dict]
    """The Iglu resolver enrich uses; its key placeholders name `resolver_secret_arns`."""
    resolver_secret_arns: list[pulumi.Input[str]] = field(default_factory=list)


class DatabricksLoader(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabricksLoaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:destinations:Databricks", name, None, opts)
        ctx, cfg, place = args.context, args.config, args.placement
        app_name = ctx.name(APP)
        table = lease_table(f"{name}-leases", ctx, app_name, cfg.lease_table, place.kms_key_arn, self)
        token_arn = credential_secret_arn(
            f"{name}-token",
            ctx,
            self,
            place.kms_key_arn,
            cfg.token_secret_arn,
            args.secrets.databricks_token,
            "databricks/token",
            "Databricks personal access token of the Databricks Streaming Loader",
        )
        hocon = pulumi.Output.from_input(token_arn).apply(
            lambda arn: hocon_text(
                render_databricks_loader_config(
                    app_name=app_name,
                    stream=args.enriched.name,
                    initial_position=cfg.initial_position,
                    max_records=cfg.max_records,
                    failures_stream=args.failures.name,
                    target=DatabricksVolume(cfg.host, cfg.catalog, cfg.schema_, cfg.volume, arn),
                    telemetry=args.operations.telemetry,
                )
            )
        )
        resolver = ctx.from_config(
            "iglu", pulumi.Output.from_input(args.resolver).apply(lambda r: json.dumps(r, indent=2) + "\n")
        )
        self.service = stream_loader_service(
            name,
            self,
            ctx,
            APP,
            DATABRICKS_LOADER_IMAGE,
            args.instance,
            cfg.size,
            place,
            args.operations,
            args.enriched,
            args.failures,
            table,
            files={CONFIG_FILE: hocon, RESOLVER_FILE: resolver},
            app_args=[
                "--config",
                f"/snowplow/config/{CONFIG_FILE}",
                "--iglu-config",
                f"/snowplow/config/{RESOLVER_FILE}",
            ],
            secret_arns=[token_arn, *args.resolver_secret_arns],
        )
        self.signals = stream_loader_signals(APP, args.enriched.name, self.service.asg_name, cfg.size.min_size)
        self.lease_table_name = table.name
        self.lease_table_arn = table.arn
        self.token_secret_arn = token_arn
        # Where the loader writes (DatabricksUploader: /Volumes/<catalog>/<schema>/<volume>/events/...): the
        # path the Lakeflow pipeline reads with cloud_files.
        self.events_path = f"/Volumes/{cfg.catalog}/{cfg.schema_}/{cfg.volume}/events"
        self.register_outputs({"leaseTable": table.name, "asgName": self.service.asg_name, "tokenSecretArn": token_arn})

"""The Snowflake destination: the Snowflake Streaming Loader from the enriched stream into Snowflake.

The loader reads the enriched stream with KCL (Polling) through a lease table created here, writes each event
to `<database>.<schema>.<table>` over Snowpipe Streaming as the configured user and role (key-pair
authentication), and sends what it cannot load to bad-2. The private key is read from Secrets Manager at boot,
so it is in neither the user data nor the config file in S3. Each instance opens its channels under its own
instance id. It needs no Iglu resolver (the loader takes only --config) and no AWS access beyond its streams
and lease table; it reaches Snowflake over the instances' HTTPS egress.
"""

from dataclasses import dataclass

import pulumi

from components.apps.app_versions import SNOWFLAKE_LOADER_IMAGE
from components.apps.ec2_service import InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.lease_table import lease_table
from components.context import StackContext
from components.destinations.snowflake_loader_config import SnowflakeTarget, render_snowflake_loader_config
from components.destinations.stream_loader import (
    credential_secret_arn,
    stream_loader_service,
    stream_loader_signals,
)
from components.platform.streams import StreamInfo
from stack_config.apps import OperationsConfig
from stack_config.warehouses import DestinationSecrets, SnowflakeDestination

APP = "snowflake-loader"
CONFIG_FILE = "snowflake-loader.hocon"


@dataclass
class SnowflakeLoaderArgs:
    context: StackContext
    config: SnowflakeDestination
    secrets: DestinationSecrets
    operations: OperationsConfig
    instance: InstanceFacts
    placement: Placement
    enriched: StreamInfo
    failures: StreamInfo


class SnowflakeLoader(pulumi.ComponentResource):
    def __init__(self, name: str, args: SnowflakeLoaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:destinations:Snowflake", name, None, opts)
        ctx, cfg, place = args.context, args.config, args.placement
        app_name = ctx.name(APP)
        table = lease_table(f"{name}-leases", ctx, app_name, cfg.lease_table, place.kms_key_arn, self)
        key_arn = credential_secret_arn(
            f"{name}-private-key",
            ctx,
            self,
            place.kms_key_arn,
            cfg.private_key_secret_arn,
            args.secrets.snowflake_private_key,
            "snowflake/private-key",
            "Private key (PKCS#8 PEM) of the Snowflake Streaming Loader's user",
        )
        passphrase_arn = None
        if cfg.private_key_passphrase_secret_arn or args.secrets.snowflake_private_key_passphrase:
            passphrase_arn = credential_secret_arn(
                f"{name}-private-key-passphrase",
                ctx,
                self,
                place.kms_key_arn,
                cfg.private_key_passphrase_secret_arn,
                args.secrets.snowflake_private_key_passphrase,
                "snowflake/private-key-passphrase",
                "Passphrase of the Snowflake Streaming Loader's private key",
            )
        secret_arns = [key_arn, *([passphrase_arn] if passphrase_arn is not None else [])]
        hocon = pulumi.Output.all(*secret_arns).apply(
            lambda arns: hocon_text(
                render_snowflake_loader_config(
                    app_name=app_name,
                    stream=args.enriched.name,
                    initial_position=cfg.initial_position,
                    max_records=cfg.max_records,
                    failures_stream=args.failures.name,
                    target=SnowflakeTarget(
                        url=cfg.url,
                        user=cfg.user,
                        role=cfg.role,
                        database=cfg.database,
                        schema=cfg.schema_,
                        table=cfg.table,
                        private_key_secret_arn=arns[0],
                        private_key_passphrase_secret_arn=arns[1] if len(arns) > 1 else None,
                    ),
                    telemetry=args.operations.telemetry,
                )
            )
        )
        self.service = stream_loader_service(
            name,
            self,
            ctx,
            APP,
            SNOWFLAKE_LOADER_IMAGE,
            args.instance,
            cfg.size,
            place,
            args.operations,
            args.enriched,
            args.failures,
            table,
            files={CONFIG_FILE: hocon},
            app_args=["--config", f"/snowplow/config/{CONFIG_FILE}"],
            secret_arns=secret_arns,
        )
        self.signals = stream_loader_signals(APP, args.enriched.name, self.service.asg_name, cfg.size.min_size)
        self.lease_table_name = table.name
        self.lease_table_arn = table.arn
        self.private_key_secret_arn = key_arn
        self.private_key_passphrase_secret_arn = passphrase_arn
        self.register_outputs(
            {"leaseTable": table.name, "asgName": self.service.asg_name, "privateKeySecretArn": key_arn}
        )

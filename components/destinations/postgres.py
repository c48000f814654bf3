"""The PostgreSQL destination: the Snowplow Postgres Loader from the enriched stream into RDS PostgreSQL.

Snowplow rates the loader development and testing grade. It reads with KCL (Polling; its own default is
enhanced fan-out, billed per consumer-shard hour) using a lease table created here, writes `atomic.events`
plus one table per schema it meets, sends what it cannot load to bad-2, and looks every schema up in the
stack's Iglu Server (it needs the server's schema-list API, which Iglu Central does not offer). It
connects as its own role, created with its database and schema by the Iglu Server's boot
(`postgres-bootstrap.sh`), never as the instance's master user.
"""

import json
from dataclasses import dataclass, field

import pulumi

from components.apps.app_versions import POSTGRES_LOADER_IMAGE
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.iam import kcl_consumer
from components.apps.iglu_server import IgluEndpoint
from components.apps.lease_table import lease_table
from components.context import StackContext
from components.destinations.postgres_loader_config import (
    IgluServerRepository,
    render_postgres_loader_config,
    render_postgres_loader_resolver,
)
from components.observability.metrics import iterator_age, lease_table_throttles
from components.platform.database import AppLogin, PostgresDatabase
from components.platform.streams import StreamInfo
from stack_config.apps import OperationsConfig
from stack_config.destinations import PostgresDestination as PostgresDestinationConfig
from stack_config.iglu import IgluConfig
from stack_config.iglu_server import OWN_REGISTRY_NAME
from stack_config.observability import AlarmThresholds

APP = "postgres-loader"
LOADER_ROLE = "snowplow_loader"
EVENTS_DATABASE = "snowplow"
# sbt-native-packager 1.7.3 with daemonUser "daemon" and no daemonUserUid (the loader's BuildSettings.scala)
# emits `USER daemon`; in its base image (adoptopenjdk:11-jre-hotspot-focal, Ubuntu) daemon is UID 1.
LOADER_IMAGE_UID = "1"


@dataclass
class PostgresDestinationArgs:
    context: StackContext
    config: PostgresDestinationConfig
    operations: OperationsConfig
    instance: InstanceFacts
    placement: Placement
    enriched: StreamInfo
    failures: StreamInfo
    database: PostgresDatabase
    login: AppLogin
    iglu: IgluEndpoint
    iglu_config: IgluConfig
    """Its cache settings, and its private registries that are Iglu Servers (static ones cannot serve the loader)."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)


class PostgresDestination(pulumi.ComponentResource):
    def __init__(self, name: str, args: PostgresDestinationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:destinations:Postgres", name, None, opts)
        ctx, cfg, place = args.context, args.config, args.placement
        app_name = ctx.name(APP)
        table = lease_table(f"{name}-leases", ctx, app_name, cfg.lease_table, place.kms_key_arn, self)

        hocon = args.login.connection.apply(
            lambda connection: hocon_text(
                render_postgres_loader_config(
                    app_name=app_name,
                    stream=args.enriched.name,
                    region=ctx.region,
                    initial_position=cfg.initial_position,
                    max_records=cfg.max_records,
                    failures_stream=args.failures.name,
                    database=connection,
                    max_connections=cfg.max_connections,
                )
            )
        )
        servers = [r for r in args.iglu_config.registries if r.uri.endswith("/api")]
        # Rendered from `iglu` (its registries and cache settings): secret when that key was set with --secret.
        resolver = pulumi.Output.all(args.iglu.api_uri, args.iglu.read_key_secret_arn).apply(
            lambda v: (
                json.dumps(
                    render_postgres_loader_resolver(
                        [
                            IgluServerRepository(OWN_REGISTRY_NAME, v[0], v[1]),
                            *(
                                IgluServerRepository(
                                    r.name, r.uri, r.api_key_secret_arn, r.priority, tuple(r.vendor_prefixes)
                                )
                                for r in servers
                            ),
                        ],
                        args.iglu_config.cache_size,
                        args.iglu_config.cache_ttl,
                    ),
                    indent=2,
                )
                + "\n"
            )
        )
        key_secrets = [args.iglu.read_key_secret_arn, *(r.api_key_secret_arn for r in servers if r.api_key_secret_arn)]
        self.service = Ec2Service(
            f"{name}-service",
            Ec2ServiceArgs(
                context=ctx,
                app=APP,
                image=POSTGRES_LOADER_IMAGE,
                instance=args.instance,
                size=cfg.size,
                placement=place,
                operations=args.operations,
                files={"postgres-loader.hocon": hocon, "iglu_resolver.json": ctx.from_config("iglu", resolver)},
                app_args=[
                    "--config",
                    "/snowplow/config/postgres-loader.hocon",
                    "--resolver",
                    "/snowplow/config/iglu_resolver.json",
                ],
                statements=kcl_consumer(
                    place.kms_key_arn,
                    ctx.region,
                    read=("ReadEnrichedStream", args.enriched.arn),
                    write=("WriteLoaderFailures", [args.failures.arn]),
                    table_arn=table.arn,
                    table_name=table.name,
                ),
                secret_arns=[args.login.password_secret_arn, *key_secrets],
                group_tags={"snowplow:kcl-app": app_name, "snowplow:input-stream": args.enriched.name},
                container_user=LOADER_IMAGE_UID,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        args.database.admit(APP, self.service.security_group_id)
        self.lease_table_name = table.name
        self.lease_table_arn = table.arn
        self.signals = [
            iterator_age(args.enriched, args.thresholds.iterator_age_retention_percent, APP),
            lease_table_throttles(APP, app_name),
            *self.service.signals,
        ]
        self.register_outputs({"leaseTable": table.name, "asgName": self.service.asg_name})

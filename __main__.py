"""Snowplow pipeline on AWS: config -> network -> keys -> storage -> streams -> schema registry (Iglu Server and
its database) -> collector -> enrich -> lake loaders -> destinations (PostgreSQL)."""

import pulumi
import pulumi_aws as aws

import stack_config
from components.apps.collector import Collector, CollectorArgs
from components.apps.consumers import Enrich, EnrichArgs, S3Loader, S3LoaderArgs
from components.apps.ec2_service import Placement, describe_instance_type
from components.apps.enrichment_files import asset_locations, render_enrichments
from components.apps.iam import (
    KCL_LEASE_TABLE_ACTIONS,
    kinesis_stream_actions,
    s3_object_of_https_url,
    s3_uri_objects,
)
from components.apps.iglu_resolver import OwnServer, render_resolver
from components.apps.iglu_server import IgluServer, IgluServerArgs
from components.context import StackContext, stack_tags
from components.destinations.postgres import EVENTS_DATABASE, LOADER_ROLE, PostgresDestination, PostgresDestinationArgs
from components.destinations.postgres_loader_config import EVENTS_SCHEMA
from components.platform.database import PostgresDatabase, PostgresDatabaseArgs
from components.platform.keys import Keys, KeysArgs
from components.platform.load_balancer import AllowedSource
from components.platform.network import GatewayAccess, Network, NetworkArgs, plan_network
from components.platform.storage import Storage, StorageArgs
from components.platform.streams import Streams, StreamsArgs

# Everything that can be wrong with the stack file is found here, before any resource exists.
deployment = stack_config.load()
cfg = deployment.config
# The one lookup of the account (and partition) the stack deploys into; components read them from `ctx`.
account_id = aws.get_caller_identity().account_id
stack_config.check_secret_arns(deployment, account_id)
iglu_cfg, postgres_cfg = cfg.iglu.server, cfg.destinations.postgres
network_plan = plan_network(cfg.network)
instances = {
    app: describe_instance_type(f"snowplow:{key}.size.instanceType", size.instance_type)
    for app, key, size in cfg.app_sizes()
}

ctx = StackContext(
    prefix=deployment.prefix,
    region=deployment.region,
    account_id=account_id,
    partition=aws.get_partition().partition,
    environment=cfg.environment,
    tags=stack_tags(deployment.project, deployment.stack, cfg.environment, cfg.tags),
    protect_data=cfg.protect_data,
    secret_keys=deployment.secret_keys,
)

network = Network("network", NetworkArgs(context=ctx, plan=network_plan))
keys = Keys("keys", KeysArgs(context=ctx))
storage = Storage("storage", StorageArgs(context=ctx, lake=cfg.lake, kms_key_arn=keys.key_arn))
streams = Streams(
    "streams", StreamsArgs(context=ctx, config=cfg.streams, kms_key_arn=keys.key_arn, capacity=cfg.capacity)
)
private = Placement(
    vpc_id=network.vpc_id,
    subnet_ids=network.private_subnet_ids,
    kms_key_arn=keys.key_arn,
    config_bucket=storage.config.bucket_name,
    secret_key_arns=cfg.secrets.kms_key_arns,
)


def postgres_database(name: str, purpose: str, database: str | None, master: str, config) -> PostgresDatabase:
    return PostgresDatabase(
        name,
        PostgresDatabaseArgs(
            context=ctx,
            purpose=purpose,
            database_name=database,
            master_username=master,
            config=config,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            kms_key_arn=keys.key_arn,
            log_retention_days=cfg.operations.log_retention_days,
        ),
    )


# Schema registry: the Iglu Server on its database; it also prepares the Postgres destination's role,
# database and schema (the loader creates only tables), on its own instance or a dedicated one.
iglu = events_db = loader_login = None
if iglu_cfg.enabled:
    iglu_db = postgres_database("iglu-db", "iglu-db", "iglu", "iglu", iglu_cfg.database)
    if postgres_cfg.enabled:
        shared = postgres_cfg.database == "shared"
        events_db = (
            iglu_db
            if shared
            else postgres_database("events-db", "events-db", None, "snowplow_admin", postgres_cfg.instance)
        )
        loader_login = events_db.app_login("postgres-loader", LOADER_ROLE, EVENTS_DATABASE, EVENTS_SCHEMA)
    iglu = IgluServer(
        "iglu-server",
        IgluServerArgs(
            context=ctx,
            config=iglu_cfg,
            operations=cfg.operations,
            instance=instances["iglu-server"],
            placement=private,
            public_subnet_ids=network.public_subnet_ids,
            stack_egress=[AllowedSource(ip.apply(lambda a: f"{a}/32")) for ip in network.nat_public_ips],
            database=iglu_db,
            bootstraps=[loader_login.bootstrap] if loader_login else [],
            bootstrap_databases=[events_db] if events_db is not None and events_db is not iglu_db else [],
        ),
    )

collector = Collector(
    "collector",
    CollectorArgs(
        context=ctx,
        config=cfg.collector,
        operations=cfg.operations,
        instance=instances["collector"],
        placement=private,
        public_subnet_ids=network.public_subnet_ids,
        good=streams["raw"],
        bad=streams["bad1"],
    ),
)

enrichments = cfg.enrich.enrichments
enrichment_files = render_enrichments(enrichments)
resolver_secrets = sorted(set(enrichments.secret_arns()) | set(cfg.iglu.secret_arns()))
if iglu is None:
    resolver = render_resolver(cfg.iglu)
else:
    resolver = pulumi.Output.all(iglu.endpoint.api_uri, iglu.endpoint.read_key_secret_arn).apply(
        lambda v: render_resolver(cfg.iglu, OwnServer(*v))
    )
    resolver_secrets = [*resolver_secrets, iglu.endpoint.read_key_secret_arn]
enrich = Enrich(
    "enrich",
    EnrichArgs(
        context=ctx,
        config=cfg.enrich,
        operations=cfg.operations,
        instance=instances["enrich"],
        placement=private,
        raw=streams["raw"],
        enriched=streams["enriched"],
        bad=streams["bad1"],
        enrichments=enrichment_files,
        resolver=resolver,
        secret_arns=resolver_secrets,
        asset_s3_uris=enrichments.s3_asset_uris(),
    ),
)

loaders = {
    kind: S3Loader(
        f"s3-loader-{kind}",
        S3LoaderArgs(
            context=ctx,
            kind=kind,
            config=loader_cfg,
            operations=cfg.operations,
            instance=instances[f"loader-{kind}"],
            placement=private,
            source=streams[source],
            failures=streams["bad2"],
            lake_bucket=storage.lake.bucket_name,
            lake_bucket_arn=storage.lake.bucket_arn,
        ),
    )
    for kind, loader_cfg, source in (
        ("enriched", cfg.loaders.enriched, "enriched"),
        ("bad", cfg.loaders.bad, "bad1"),
    )
}

if iglu is not None:
    iglu.reachable_from("enrich", enrich.service.security_group_id)

postgres = None

if postgres_cfg.enabled:
    postgres = PostgresDestination(
        "postgres-loader",
        PostgresDestinationArgs(
            context=ctx,
            config=postgres_cfg,
            operations=cfg.operations,
            instance=instances["postgres-loader"],
            placement=private,
            enriched=streams["enriched"],
            failures=streams["bad2"],
            database=events_db,
            login=loader_login,
            iglu=iglu.endpoint,
            iglu_config=cfg.iglu,
        ),
    )
    iglu.reachable_from("postgres-loader", postgres.service.security_group_id)
    pulumi.export(
        "postgres_destination",
        loader_login.connection.apply(
            lambda c: {
                "host": c.host,
                "port": c.port,
                "database": c.database,
                "schema": EVENTS_SCHEMA,
                "username": c.username,
                "passwordSecretArn": c.password_secret_arn,
            }
        ),
    )

# The S3 and DynamoDB gateway endpoints admit only what the stack's instances use.
network.restrict_gateway_endpoints(
    GatewayAccess(
        buckets=[storage.lake.bucket_arn, storage.config.bucket_arn],
        read_only_objects=[s3_uri_objects(uri) for uri in enrichments.s3_asset_uris()],
        public_objects=[
            arn for url in asset_locations(enrichment_files) if (arn := s3_object_of_https_url(url, ctx.region))
        ],
        tables=[
            enrich.lease_table_arn,
            *(loader.lease_table_arn for loader in loaders.values()),
            *([postgres.lease_table_arn] if postgres is not None else []),
        ],
        table_actions=KCL_LEASE_TABLE_ACTIONS,
        streams=[info.arn for info in streams.by_name.values()],
        stream_actions=kinesis_stream_actions(),
    )
)

pulumi.export("collector_url", collector.collector_url)
pulumi.export("collector_dns_name", collector.dns_name)
pulumi.export("lake_bucket", storage.lake.bucket_name)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("kms_key_arn", keys.key_arn)
pulumi.export("kms_key_alias", keys.alias_name)
pulumi.export("stream_names", {logical: info.name for logical, info in streams.by_name.items()})
pulumi.export("enabled_enrichments", ctx.from_config("enrich", enrichments.enabled_names()))
if iglu is not None:
    pulumi.export("iglu_server_url", iglu.url)
    pulumi.export("iglu_write_key_secret_arn", iglu.write_key_secret_arn)

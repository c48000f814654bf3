"""Snowplow pipeline on AWS: config -> network -> keys -> storage -> streams -> schema registry (Iglu Server and
its database) -> collector -> enrich -> lake loaders -> destinations (PostgreSQL, Redshift, Snowflake,
Databricks, OpenSearch) -> data modeling (dbt on a schedule) and analysis (Athena over the lake) -> alarms and
dashboard."""

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

import stack_config
from components.analysis.athena import LakeAnalysis, LakeAnalysisArgs
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
from components.destinations.databricks import DatabricksLoader, DatabricksLoaderArgs
from components.destinations.opensearch import OpenSearchDestination, OpenSearchDestinationArgs
from components.destinations.postgres import EVENTS_DATABASE, LOADER_ROLE, PostgresDestination, PostgresDestinationArgs
from components.destinations.postgres_loader_config import EVENTS_SCHEMA
from components.destinations.redshift import RedshiftDestination, RedshiftDestinationArgs
from components.destinations.snowflake import SnowflakeLoader, SnowflakeLoaderArgs
from components.modeling.modeling import Modeling, ModelingArgs
from components.modeling.warehouses import (
    databricks_warehouse,
    postgres_warehouse,
    redshift_warehouse,
    snowflake_warehouse,
)
from components.observability.observability import Observability, ObservabilityArgs, Stage
from components.platform.database import PostgresDatabase, PostgresDatabaseArgs
from components.platform.keys import Keys, KeysArgs
from components.platform.load_balancer import AllowedSource
from components.platform.network import GatewayAccess, Network, NetworkArgs, plan_network
from components.platform.storage import Storage, StorageArgs
from components.platform.streams import Streams, StreamsArgs
from stack_config.analysis import modeling_warehouse

# Everything that can be wrong with the stack file is found here, before any resource exists.
deployment = stack_config.load()
cfg = deployment.config
thresholds = cfg.observability.thresholds
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
    "streams",
    StreamsArgs(
        context=ctx, config=cfg.streams, kms_key_arn=keys.key_arn, thresholds=thresholds, capacity=cfg.capacity
    ),
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
iglu = iglu_db = events_db = loader_login = None
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
            thresholds=thresholds,
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
        thresholds=thresholds,
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
        thresholds=thresholds,
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
            thresholds=thresholds,
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
            thresholds=thresholds,
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

# Redshift: the RDB transformer shreds the enriched stream into the lake, the RDB loader has Redshift COPY it.
redshift = None
if cfg.destinations.redshift.enabled:
    redshift = RedshiftDestination(
        "redshift",
        RedshiftDestinationArgs(
            context=ctx,
            config=cfg.destinations.redshift,
            operations=cfg.operations,
            transformer_instance=instances["redshift-transformer"],
            loader_instance=instances["redshift-loader"],
            placement=private,
            enriched=streams["enriched"],
            failures=streams["bad2"],
            lake_bucket=storage.lake.bucket_name,
            lake_bucket_arn=storage.lake.bucket_arn,
            resolver=pulumi.Output.from_input(resolver).apply(lambda r: json.dumps(r, indent=2) + "\n"),
            resolver_secret_arns=resolver_secrets,
        ),
    )
    if iglu is not None:
        iglu.reachable_from("redshift-transformer", redshift.transformer.service.security_group_id)
        iglu.reachable_from("redshift-loader", redshift.loader.service.security_group_id)
    pulumi.export(
        "redshift_destination",
        pulumi.Output.all(
            redshift.connection,
            redshift.queue_name,
            redshift.loader.service.security_group_id,
            redshift.transformed_uri,
        ).apply(
            lambda v: {
                "host": v[0].host,
                "port": v[0].port,
                "database": v[0].database,
                "schema": v[0].schema,
                "username": v[0].username,
                "passwordSecretArn": v[0].password_secret_arn,
                "copyRoleArn": v[0].copy_role_arn,
                "queueName": v[1],
                "loaderSecurityGroupId": v[2],
                "transformedUri": v[3],
            }
        ),
    )
    if redshift.warehouse is not None:
        pulumi.export("redshift_admin_secret_arn", redshift.warehouse.admin_secret_arn)
# Warehouses fed by Snowplow's streaming loaders, each reading the enriched stream on its own lease table.
warehouse_loaders = []
snowflake_cfg, databricks_cfg = cfg.destinations.snowflake, cfg.destinations.databricks
if snowflake_cfg.enabled:
    snowflake = SnowflakeLoader(
        "snowflake-loader",
        SnowflakeLoaderArgs(
            context=ctx,
            config=snowflake_cfg,
            secrets=cfg.destination_secrets,
            operations=cfg.operations,
            instance=instances["snowflake-loader"],
            placement=private,
            enriched=streams["enriched"],
            failures=streams["bad2"],
        ),
    )
    warehouse_loaders.append(("Snowflake", snowflake))
    pulumi.export(
        "snowflake_destination",
        {
            "url": snowflake_cfg.url,
            "user": snowflake_cfg.user,
            "role": snowflake_cfg.role,
            "table": f"{snowflake_cfg.database}.{snowflake_cfg.schema_}.{snowflake_cfg.table}",
            "privateKeySecretArn": snowflake.private_key_secret_arn,
        },
    )
if databricks_cfg.enabled:
    databricks = DatabricksLoader(
        "databricks-loader",
        DatabricksLoaderArgs(
            context=ctx,
            config=databricks_cfg,
            secrets=cfg.destination_secrets,
            operations=cfg.operations,
            instance=instances["databricks-loader"],
            placement=private,
            enriched=streams["enriched"],
            failures=streams["bad2"],
            resolver=resolver,
            # The resolver's keys only: enrich's list also holds the enrichments' secrets.
            resolver_secret_arns=[
                *sorted(set(cfg.iglu.secret_arns())),
                *([iglu.endpoint.read_key_secret_arn] if iglu is not None else []),
            ],
        ),
    )
    warehouse_loaders.append(("Databricks", databricks))
    if iglu is not None:
        iglu.reachable_from("databricks-loader", databricks.service.security_group_id)
    pulumi.export(
        "databricks_destination",
        {
            "host": databricks_cfg.host,
            "eventsPath": databricks.events_path,
            "tokenSecretArn": databricks.token_secret_arn,
        },
    )

# Data modeling: a dbt project (modeling/dbt, or modeling/unified for snowplow_unified) run on a schedule in the
# warehouse the stack loads. One entry per warehouse (stack_config.analysis.WAREHOUSE_KEYS); the config check
# guarantees the chosen one is enabled.
warehouses = {
    "postgres": lambda: postgres_warehouse(events_db, loader_login),
    "redshift": lambda: redshift_warehouse(
        redshift.connection, redshift.password_secret_arn, cfg.destinations.redshift.schema_name, redshift.admit
    ),
    "snowflake": lambda: snowflake_warehouse(
        snowflake_cfg,
        cfg.modeling.snowflake_warehouse,
        snowflake.private_key_secret_arn,
        snowflake.private_key_passphrase_secret_arn,
    ),
    "databricks": lambda: databricks_warehouse(
        databricks_cfg,
        cfg.modeling.databricks_http_path,
        cfg.modeling.databricks_events_table,
        databricks.token_secret_arn,
    ),
}
modeling = None
if (warehouse_name := modeling_warehouse(cfg)) is not None:
    modeling = Modeling(
        "modeling",
        ModelingArgs(
            context=ctx,
            config=cfg.modeling,
            operations=cfg.operations,
            placement=private,
            warehouse=warehouses[warehouse_name](),
            modeling_dir=Path(__file__).resolve().parent / "modeling",
        ),
    )
    pulumi.export(
        "modeling",
        {
            "cluster": modeling.cluster_name,
            "taskDefinition": modeling.task_family,
            "securityGroup": modeling.security_group_id,
            "schedule": modeling.schedule_name,
            "logGroup": modeling.log_group_name,
        },
    )

# Analysis: Athena over the lake (Glue tables with partition projection, an enforced workgroup, named queries).
if cfg.analysis.enabled:
    analysis = LakeAnalysis(
        "analysis",
        LakeAnalysisArgs(
            context=ctx, config=cfg.analysis, lake_bucket=storage.lake.bucket_name, kms_key_arn=keys.key_arn
        ),
    )
    pulumi.export("athena", {"workgroup": analysis.workgroup, "database": analysis.database})

# OpenSearch destination: a private search domain fed by the Elasticsearch Loader (and optionally bad rows).
opensearch = None
if cfg.destinations.opensearch.enabled:
    opensearch = OpenSearchDestination(
        "opensearch",
        OpenSearchDestinationArgs(
            context=ctx,
            config=cfg.destinations.opensearch,
            operations=cfg.operations,
            instance=instances["elasticsearch-loader"],
            bad_rows_instance=instances.get("elasticsearch-loader-bad"),
            placement=private,
            enriched=streams["enriched"],
            bad=streams["bad1"],
            failures=streams["bad2"],
        ),
    )
    pulumi.export(
        "opensearch_destination",
        {
            "domainName": opensearch.domain_name,
            "domainArn": opensearch.domain_arn,
            "endpoint": opensearch.endpoint,
            "dashboardsUrl": opensearch.endpoint.apply(lambda e: f"https://{e}/_dashboards"),
            "indices": [
                cfg.destinations.opensearch.index,
                *([cfg.destinations.opensearch.bad_rows.index] if cfg.destinations.opensearch.bad_rows.enabled else []),
            ],
        },
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
            *([redshift.lease_table_arn] if redshift is not None else []),
            *(loader.lease_table_arn for _, loader in warehouse_loaders),
            *(opensearch.lease_table_arns if opensearch is not None else []),
        ],
        table_actions=KCL_LEASE_TABLE_ACTIONS,
        streams=[info.arn for info in streams.by_name.values()],
        stream_actions=kinesis_stream_actions(),
    )
)

# Alarms and the dashboard, along the data path. A destination joins `destination_stages` with its `signals`.
destination_stages = []
if postgres is not None:
    own_db = events_db.signals if events_db is not iglu_db else []
    destination_stages.append(Stage("Destination: PostgreSQL", [*postgres.signals, *own_db]))
if redshift is not None:
    destination_stages.append(Stage("Destination: Redshift", redshift.signals))
destination_stages += [Stage(f"Destination: {title}", loader.signals) for title, loader in warehouse_loaders]
if opensearch is not None:
    destination_stages.append(Stage("Destination: OpenSearch", opensearch.signals))
if modeling is not None:
    destination_stages.append(Stage("Data modeling", modeling.signals))
observability = Observability(
    "observability",
    ObservabilityArgs(
        context=ctx,
        config=cfg.observability,
        kms_key_arn=keys.key_arn,
        stages=[
            Stage("Collector", collector.signals, collector.graphs),
            Stage("Streams", streams.signals, streams.graphs),
            Stage("Enrich", enrich.signals),
            Stage("Lake loaders", [s for loader in loaders.values() for s in loader.signals]),
            *destination_stages,
            *([Stage("Schema registry: Iglu Server", [*iglu.signals, *iglu_db.signals])] if iglu is not None else []),
        ],
    ),
)

pulumi.export("collector_url", collector.collector_url)
pulumi.export("collector_dns_name", collector.dns_name)
pulumi.export("lake_bucket", storage.lake.bucket_name)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("kms_key_arn", keys.key_arn)
pulumi.export("kms_key_alias", keys.alias_name)
pulumi.export("stream_names", {logical: info.name for logical, info in streams.by_name.items()})
pulumi.export("alarm_topic_arn", observability.topic_arn)
pulumi.export("dashboard_name", observability.dashboard_name)
pulumi.export("enabled_enrichments", ctx.from_config("enrich", enrichments.enabled_names()))
if iglu is not None:
    pulumi.export("iglu_server_url", iglu.url)
    pulumi.export("iglu_write_key_secret_arn", iglu.write_key_secret_arn)

"""Snowplow pipeline on AWS: config -> network -> keys -> storage -> streams -> collector -> enrich -> loaders."""

import pulumi
import pulumi_aws as aws

import stack_config
from components.apps.collector import Collector, CollectorArgs
from components.apps.consumers import Enrich, EnrichArgs, S3Loader, S3LoaderArgs
from components.apps.ec2_service import Placement, describe_instance_type
from components.apps.enrichment_files import asset_locations, render_enrichments
from components.apps.iam import KCL_LEASE_TABLE_ACTIONS, s3_object_of_https_url, s3_uri_objects
from components.apps.iglu_resolver import render_resolver
from components.context import StackContext, stack_tags
from components.platform.keys import Keys, KeysArgs
from components.platform.network import GatewayAccess, Network, NetworkArgs, plan_network
from components.platform.storage import Storage, StorageArgs
from components.platform.streams import Streams, StreamsArgs

# Everything that can be wrong with the stack file is found here, before any resource exists.
deployment = stack_config.load()
cfg = deployment.config
stack_config.check_secret_arns(deployment, aws.get_caller_identity().account_id)
network_plan = plan_network(cfg.network)
instances = {
    app: describe_instance_type(f"snowplow:{key}.size.instanceType", size.instance_type)
    for app, key, size in (
        ("collector", "collector", cfg.collector.size),
        ("enrich", "enrich", cfg.enrich.size),
        ("loader-enriched", "loaders.enriched", cfg.loaders.enriched.size),
        ("loader-bad", "loaders.bad", cfg.loaders.bad.size),
    )
}

ctx = StackContext(
    prefix=deployment.prefix,
    region=deployment.region,
    environment=cfg.environment,
    tags=stack_tags(deployment.project, deployment.stack, cfg.environment, cfg.tags),
    protect_data=cfg.protect_data,
    secret_keys=deployment.secret_keys,
)
account_id = aws.get_caller_identity_output().account_id

network = Network("network", NetworkArgs(context=ctx, plan=network_plan))
keys = Keys("keys", KeysArgs(context=ctx))
storage = Storage("storage", StorageArgs(context=ctx, lake=cfg.lake, kms_key_arn=keys.key_arn, account_id=account_id))
streams = Streams("streams", StreamsArgs(context=ctx, config=cfg.streams, kms_key_arn=keys.key_arn))
private = Placement(
    vpc_id=network.vpc_id,
    subnet_ids=network.private_subnet_ids,
    kms_key_arn=keys.key_arn,
    config_bucket=storage.config.bucket_name,
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
        account_id=account_id,
    ),
)

enrichments = cfg.enrich.enrichments
enrichment_files = render_enrichments(enrichments)
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
        resolver=render_resolver(cfg.iglu),
        secret_arns=sorted(set(enrichments.secret_arns()) | set(cfg.iglu.secret_arns())),
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

network.restrict_gateway_endpoints(
    GatewayAccess(
        account_id=account_id,
        buckets=[storage.lake.bucket_arn, storage.config.bucket_arn],
        read_only_objects=[s3_uri_objects(uri) for uri in enrichments.s3_asset_uris()],
        public_objects=[
            arn for url in asset_locations(enrichment_files) if (arn := s3_object_of_https_url(url, ctx.region))
        ],
        tables=[enrich.lease_table_arn, *(loader.lease_table_arn for loader in loaders.values())],
        table_actions=KCL_LEASE_TABLE_ACTIONS,
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

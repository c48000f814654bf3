"""Snowplow pipeline on AWS: config -> network -> keys -> streams -> exports."""

import pulumi

import stack_config
from components.context import StackContext, stack_tags
from components.keys import Keys, KeysArgs
from components.network import Network, NetworkArgs, plan_network
from components.streams import Streams, StreamsArgs

deployment = stack_config.load()
cfg = deployment.config
network_plan = plan_network(cfg.network)

ctx = StackContext(
    prefix=deployment.prefix,
    region=deployment.region,
    environment=cfg.environment,
    tags=stack_tags(deployment.project, deployment.stack, cfg.environment, cfg.tags),
    protect_data=cfg.protect_data,
)

network = Network("network", NetworkArgs(context=ctx, plan=network_plan))
keys = Keys("keys", KeysArgs(context=ctx))
streams = Streams("streams", StreamsArgs(context=ctx, config=cfg.streams, kms_key_arn=keys.key_arn))

pulumi.export("vpc_id", network.vpc_id)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("kms_key_arn", keys.key_arn)
pulumi.export("kms_key_alias", keys.alias_name)
pulumi.export("stream_names", {logical: info.name for logical, info in streams.by_name.items()})

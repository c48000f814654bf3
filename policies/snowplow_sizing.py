"""Cost and capacity guard rails: instance types, ASG and shard bounds, RDS size, log retention,
and the Snowplow rule that KCL consumers never outnumber their input stream's shards."""

import math

import snowplow_cost
from pulumi_policy import Severity
from snowplow_aws_types import carriers
from snowplow_policy_util import (
    ADVISORY,
    ASG,
    KINESIS_STREAM,
    LOG_GROUP,
    MANDATORY,
    RDS_CLUSTER,
    RDS_CLUSTER_INSTANCE,
    RDS_INSTANCE,
    as_list,
    as_number,
    boolean,
    get,
    has_value,
    instance_type_problem,
    integer,
    known,
    of_type,
    places,
    resource_policy,
    snake,
    stack_policy,
    string,
    string_list,
    tag_map,
)

KCL_APP_TAG = "snowplow:kcl-app"
INPUT_STREAM_TAG = "snowplow:input-stream"

EC2_FAMILIES = ["t3", "t3a", "t4g", "m6i", "m6a", "m7i", "m7a", "m7g", "c6i", "c6a", "c7i", "c7a", "c7g"]
RDS_FAMILIES = ["t3", "t4g", "m6g", "m6i", "m7g", "m7i", "r6g", "r6i", "r7g"]


TYPE_CARRIERS = carriers("instance_type")
REQUIREMENT_CARRIERS = carriers("instance_requirements")
COMPUTE_TYPES = sorted(set(TYPE_CARRIERS) | set(REQUIREMENT_CARRIERS))


def _instance_types(args) -> list:
    """(where, instance type) for every instance type a resource declares (templates, instances, overrides)."""
    return [
        (snake(where), value)
        for path in TYPE_CARRIERS.get(args.resource_type, [])
        for where, value in places(args.props, path)
        if has_value(value)
    ]


def _requirement_problems(requirements, cfg) -> list:
    """Why attribute-based instance selection could pick a type outside the allowed families and size."""
    allowed = as_list(get(requirements, "allowedInstanceTypes"))
    if not allowed:
        return ["it sets no allowed_instance_types, so EC2 may pick any family and size matching the attributes"]
    problems = []
    for pattern in allowed:
        if "*" in str(pattern) or "?" in str(pattern):
            problems.append(f"'{pattern}' is a wildcard; name each allowed type")
        elif problem := instance_type_problem(str(pattern), cfg["allowedFamilies"], cfg["maxSize"]):
            problems.append(f"'{pattern}': {problem}")
    return problems


def check_instance_types(args, report, cfg):
    for where, value in _instance_types(args):
        problem = instance_type_problem(str(value), cfg["allowedFamilies"], cfg["maxSize"])
        if problem:
            report(
                f"'{args.name}' uses {where} '{value}': {problem}. Pick a type from {sorted(cfg['allowedFamilies'])} "
                f"no larger than '{cfg['maxSize']}', or change this policy's config for the stack."
            )
    for path in REQUIREMENT_CARRIERS.get(args.resource_type, []):
        for where, requirements in places(args.props, path):
            if requirements is None:
                continue
            for problem in _requirement_problems(requirements, cfg):
                report(
                    f"'{args.name}' selects instances by attributes ({snake(where)}) and {problem}; set "
                    f"allowed_instance_types to types from {sorted(cfg['allowedFamilies'])} no larger than "
                    f"'{cfg['maxSize']}'."
                )


def check_asg_size(args, report, cfg):
    low, high = as_number(args.props.get("minSize")), as_number(args.props.get("maxSize"))
    desired = as_number(args.props.get("desiredCapacity"))
    if high is not None and high > cfg["maxInstances"]:
        report(
            f"Auto Scaling group '{args.name}' may grow to {high:g} instances; set max_size <= {cfg['maxInstances']}."
        )
    if low is not None and high is not None and low > high:
        report(f"Auto Scaling group '{args.name}' has min_size {low:g} above max_size {high:g}; fix the bounds.")
    if desired is not None and ((low is not None and desired < low) or (high is not None and desired > high)):
        report(f"Auto Scaling group '{args.name}' has desired_capacity {desired:g} outside [min_size, max_size].")


def _stream_mode(props) -> str:
    return str(get(props, "streamModeDetails", "streamMode") or "PROVISIONED").upper()


def check_shard_count(args, report, cfg):
    if _stream_mode(args.props) != "PROVISIONED":
        return
    shards = as_number(args.props.get("shardCount"))
    if shards is not None and shards > cfg["maxShards"]:
        report(f"Kinesis stream '{args.name}' has {shards:g} shards; set shard_count <= {cfg['maxShards']}.")


def check_on_demand(args, report, cfg):
    if _stream_mode(args.props) == "ON_DEMAND" and not cfg["allowOnDemand"]:
        report(
            f"Kinesis stream '{args.name}' is ON_DEMAND, whose base cost is far above a few provisioned shards; "
            "use stream_mode_details={'stream_mode': 'PROVISIONED'} with shard_count, or allow on-demand in config."
        )


def check_rds_class(args, report, cfg):
    key = "dbClusterInstanceClass" if args.resource_type == RDS_CLUSTER else "instanceClass"
    value = args.props.get(key)
    if not value or value in cfg["allowedClasses"]:
        return
    problem = instance_type_problem(str(value), cfg["allowedFamilies"], cfg["maxSize"])
    if problem:
        report(
            f"Database '{args.name}' uses class '{value}': {problem}. Use db.<family>.<size> with a family from "
            f"{sorted(cfg['allowedFamilies'])} no larger than '{cfg['maxSize']}'."
        )


def check_rds_storage(args, report, cfg):
    props, limit = args.props, cfg["maxStorageGb"]
    for key, label in (("allocatedStorage", "allocated_storage"), ("maxAllocatedStorage", "max_allocated_storage")):
        size = as_number(props.get(key))
        if size is not None and size > limit:
            report(f"RDS instance '{args.name}' sets {label}={size:g} GiB; keep it <= {limit} GiB.")
    storage_type = props.get("storageType") or ("io1" if props.get("iops") else "gp2")
    if storage_type not in cfg["allowedStorageTypes"]:
        report(
            f"RDS instance '{args.name}' uses storage type '{storage_type}'; set storage_type to one of "
            f"{cfg['allowedStorageTypes']} (gp3 is cheaper and faster than gp2)."
        )


def check_log_retention(args, report, cfg):
    days = as_number(args.props.get("retentionInDays"))
    if not days:
        report(
            f"CloudWatch log group '{args.name}' never expires its logs; set retention_in_days between "
            f"{cfg['minDays']} and {cfg['maxDays']}."
        )
    elif not cfg["minDays"] <= days <= cfg["maxDays"]:
        report(
            f"CloudWatch log group '{args.name}' keeps logs {days:g} days; set retention_in_days between "
            f"{cfg['minDays']} and {cfg['maxDays']}."
        )


# --- Snowplow: KCL consumers vs shards -------------------------------------------------------


def _provisioned_shards(resources) -> dict:
    """{physical stream name: shard count, or None for ON_DEMAND/unknown} for streams in the stack."""
    shards = {}
    for stream in of_type(resources, KINESIS_STREAM):
        name = known(lambda s=stream: get(s.props, "name"), None)
        if isinstance(name, str):
            mode = known(lambda s=stream: _stream_mode(s.props), None)
            count = known(lambda s=stream: as_number(get(s.props, "shardCount")), None)
            shards[name] = count if mode == "PROVISIONED" else None
    return shards


def check_kcl_consumers(args, report, cfg):
    shards = _provisioned_shards(args.resources)
    apps: dict = {}
    for group in of_type(args.resources, ASG):
        tags = known(lambda g=group: tag_map(get(g.props, "tags")), {})
        app, stream = tags.get(KCL_APP_TAG), tags.get(INPUT_STREAM_TAG)
        if isinstance(app, str) and isinstance(stream, str):
            apps.setdefault((app, stream), []).append(group)
    for (app, stream), groups in sorted(apps.items()):
        limit = shards.get(stream)
        sizes = [known(lambda g=g: as_number(get(g.props, "maxSize")), None) for g in groups]
        if limit is None or None in sizes:
            continue  # ON_DEMAND, stream outside this stack, or values unknown until deploy
        total = sum(sizes)
        if total > limit:
            for group in groups:
                report(
                    f"KCL app '{app}' can scale to {total:g} instances (Auto Scaling group '{group.name}'"
                    + (f" and {len(groups) - 1} more" if len(groups) > 1 else "")
                    + f") but its input stream '{stream}' has {limit:g} shards, so the extra workers would sit idle; "
                    f"set max_size <= {limit:g} or add shards.",
                    group.urn,
                )


# --- Capacity for the configured traffic, and the monthly budget ------------------------------

SHARD_WRITE_BYTES_PER_SECOND = 1_048_576
SHARD_WRITE_RECORDS_PER_SECOND = 1_000


def check_shards_cover_peak(args, report, cfg):
    """A provisioned stream the program tagged with its peak load has the shards to take it (1 MiB/s and 1,000
    records/s each)."""
    if _stream_mode(args.props) != "PROVISIONED":
        return
    tags = tag_map(args.props.get("tags"))
    records = as_number(tags.get(snowplow_cost.PEAK_RECORDS_TAG))
    size = as_number(tags.get(snowplow_cost.PEAK_BYTES_TAG))
    shards = as_number(args.props.get("shardCount"))
    if records is None or size is None or shards is None:
        return
    needed = max(1, math.ceil(records / SHARD_WRITE_RECORDS_PER_SECOND), math.ceil(size / SHARD_WRITE_BYTES_PER_SECOND))
    if shards < needed:
        report(
            f"Kinesis stream '{args.name}' has {shards:g} shard(s) but its configured peak is {records:,.0f} records/s "
            f"and {size / 1_048_576:,.2f} MiB/s, which needs {needed} (1,000 records/s and 1 MiB/s per shard); raise "
            "shard_count (snowplow:streams.shards) or lower snowplow:traffic."
        )


def _plain(resource) -> dict:
    return {
        "urn": resource.urn,
        "type": resource.resource_type,
        "name": resource.name,
        "parent": resource.parent.urn if resource.parent is not None else None,
        "props": snowplow_cost.plain(resource.props),
    }


def check_monthly_budget(args, report, cfg):
    resources = [_plain(r) for r in args.resources]
    region = cfg["region"] or snowplow_cost.region_of(resources)
    cost = snowplow_cost.estimate(resources, region)
    budget, per_million = cfg["monthlyBudgetUsd"], cost.per_million_events_usd
    top = ", ".join(f"{name} ${usd:,.0f}" for name, usd in list(cost.components().items())[:3])
    if cost.monthly_usd > budget:
        report(
            f"The stack is estimated at ${cost.monthly_usd:,.2f} a month in {region} (largest: {top}), over the "
            f"budget of ${budget:,.0f}; shrink instance types, counts, shards or NAT gateways, or raise "
            "monthlyBudgetUsd in this policy's config."
        )
    limit = cfg["maxUsdPerMillionEvents"]
    if limit and per_million is not None and per_million > limit:
        report(
            f"The stack is estimated at ${per_million:.3f} per million events at its configured peak of "
            f"{cost.peak_events_per_second:,.0f} events/s, over the limit of ${limit:g}; raise "
            "maxUsdPerMillionEvents or reduce the cost per event."
        )


def number(default: float, description: str, minimum: float = 0) -> dict:
    return {"type": "number", "default": default, "minimum": minimum, "description": description}


SIZE_CONFIG = {
    "allowedFamilies": string_list(EC2_FAMILIES, "Allowed instance families (the part before the dot)."),
    "maxSize": string("2xlarge", "Largest allowed size, e.g. 'large' or '4xlarge'."),
}

POLICIES = [
    resource_policy(
        "ec2-compute-restrict-instance-types",
        "Launch templates and configurations, instances, spot requests and fleets, ASG overrides and attribute-based "
        "selection use allowed instance families up to a maximum size.",
        COMPUTE_TYPES,
        check_instance_types,
        level=ADVISORY,
        config=SIZE_CONFIG,
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "autoscaling-group-limit-size",
        "Auto Scaling groups have consistent bounds and a capped max_size.",
        [ASG],
        check_asg_size,
        level=ADVISORY,
        config={"maxInstances": integer(10, "Largest allowed max_size.", minimum=1)},
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "kinesis-stream-limit-shard-count",
        "Provisioned Kinesis streams stay within a shard budget.",
        [KINESIS_STREAM],
        check_shard_count,
        level=ADVISORY,
        config={"maxShards": integer(8, "Largest allowed shard_count.", minimum=1)},
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "kinesis-stream-restrict-on-demand",
        "Kinesis streams use ON_DEMAND mode only where the config allows it.",
        [KINESIS_STREAM],
        check_on_demand,
        level=ADVISORY,
        config={"allowOnDemand": boolean(False, "Accept ON_DEMAND streams.")},
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "rds-instance-restrict-instance-class",
        "RDS instance classes come from allowed families up to a maximum size.",
        [RDS_INSTANCE, RDS_CLUSTER_INSTANCE, RDS_CLUSTER],
        check_rds_class,
        level=ADVISORY,
        config={
            "allowedFamilies": string_list(RDS_FAMILIES, "Allowed families, e.g. 't4g' for db.t4g.*."),
            "maxSize": string("2xlarge", "Largest allowed size."),
            "allowedClasses": string_list(["db.serverless"], "Classes accepted as-is."),
        },
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "rds-instance-limit-storage",
        "RDS instances cap allocated and autoscaled storage and use modern storage types.",
        [RDS_INSTANCE],
        check_rds_storage,
        level=ADVISORY,
        config={
            "maxStorageGb": integer(200, "Largest allocated_storage / max_allocated_storage in GiB.", minimum=20),
            "allowedStorageTypes": string_list(["gp3", "io1", "io2"], "Accepted storage_type values."),
        },
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "cloudwatch-log-group-bound-retention",
        "CloudWatch log groups expire logs within configured bounds.",
        [LOG_GROUP],
        check_log_retention,
        level=ADVISORY,
        config={
            "minDays": integer(7, "Shortest allowed retention_in_days.", minimum=1),
            "maxDays": integer(365, "Longest allowed retention_in_days.", minimum=1),
        },
        severity=Severity.LOW,
    ),
    resource_policy(
        "kinesis-stream-cover-peak",
        "Provisioned Kinesis streams tagged with their peak load (snowplow:peak-records-per-second and "
        "snowplow:peak-bytes-per-second) have the shards to take it.",
        [KINESIS_STREAM],
        check_shards_cover_peak,
        level=ADVISORY,
        severity=Severity.MEDIUM,
    ),
    stack_policy(
        "stack-limit-monthly-cost",
        "The stack's estimated monthly cost (on-demand list prices of policies/prices.json, usage at the peak the "
        "program tags on its streams) stays within a budget, and optionally within a cost per million events.",
        check_monthly_budget,
        level=ADVISORY,
        config={
            "monthlyBudgetUsd": number(1_000, "Largest estimated monthly cost in USD."),
            "maxUsdPerMillionEvents": number(0, "Largest estimated USD per million events at the peak (0: no limit)."),
            "region": string("", "Region whose prices apply (empty: read from the resources' ARNs)."),
        },
        severity=Severity.MEDIUM,
    ),
    stack_policy(
        "snowplow-kcl-consumer-limit-to-shards",
        f"A KCL consumer group (ASGs tagged {KCL_APP_TAG}/{INPUT_STREAM_TAG}) never scales beyond its input "
        "stream's shard count.",
        check_kcl_consumers,
        level=MANDATORY,
        severity=Severity.MEDIUM,
    ),
]

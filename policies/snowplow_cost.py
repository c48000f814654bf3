"""Monthly cost estimate of a stack from its resources and a price table (prices.json beside this file).

Pure and self-contained: the pack's budget rule and `offline.cost` (make preview) both call `estimate`, on
resources given as plain dicts {urn, type, name, parent, props}. Usage is priced at a sustained design peak:
the traffic the program tags on its Kinesis streams (`snowplow:peak-*` tags). Assumptions that are not prices
are the constants below; README "Capacity and cost" lists them.
"""

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PRICES_PATH = Path(__file__).with_name("prices.json")
SECONDS_PER_MONTH = 730 * 3600

PEAK_EVENTS_TAG = "snowplow:peak-events-per-second"
PEAK_RECORDS_TAG = "snowplow:peak-records-per-second"
PEAK_BYTES_TAG = "snowplow:peak-bytes-per-second"
INPUT_STREAM_TAG = "snowplow:input-stream"
KCL_APP_TAG = "snowplow:kcl-app"
ACTIVE_HOURS_TAG = "snowplow:active-hours-per-month"  # Redshift Serverless: hours a month the workgroup computes

# Assumptions (not prices)
LOG_GB_PER_GROUP_MONTH = 1.0  # CloudWatch Logs ingested per log group a month
NAT_BASELINE_GB_PER_INSTANCE_MONTH = 2.0  # image pulls, OS updates, SSM: what every instance sends through NAT
LAKE_GZIP_RATIO = 0.15  # gzip shrinks enriched TSV about 6-7x; the lake grows by this share of enriched bytes
LEASE_TABLE_UNITS_PER_SECOND = 1.0  # on-demand KCL lease table: ~1 write and ~1 read per second
REDSHIFT_DEFAULT_ACTIVE_HOURS = 60.0  # two hours a day unless the workgroup is tagged with its own figure
FARGATE_DEFAULT_RUN_MINUTES = 10.0  # per scheduled run unless the task is tagged snowplow:run-minutes
PUT_UNIT_BYTES = 25 * 1024
ALARMS_PER_TARGET_TRACKING_POLICY = 2  # AWS creates a high and a low alarm for each target-tracking policy

FREE_TYPES = {
    # no charge of their own (or priced through another resource)
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:kms/alias:Alias",
    "aws:lb/listener:Listener",
    "aws:lb/listenerRule:ListenerRule",
    "aws:lb/targetGroup:TargetGroup",
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:route53/record:Record",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketNotification:BucketNotification",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:scheduler/schedule:Schedule",
    "aws:glue/catalogDatabase:CatalogDatabase",
    "aws:glue/catalogTable:CatalogTable",
    "aws:athena/workgroup:Workgroup",
    "aws:redshiftserverless/namespace:Namespace",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:lambda/permission:Permission",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:ecs/cluster:Cluster",
    "aws:opensearch/domainPolicy:DomainPolicy",
}
# billed per request or GB only: their cost follows use this estimate cannot see; listed, priced at 0
USAGE_TYPES = {
    "aws:lambda/function:Function",
    "aws:sqs/queue:Queue",
    "aws:sns/topic:Topic",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
}


@dataclass
class Item:
    urn: str
    type: str
    name: str
    component: str
    monthly_usd: float
    detail: str


@dataclass
class Estimate:
    region: str
    items: list[Item] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)  # types without a rule: counted as 0
    usage_only: list[str] = field(default_factory=list)  # per-request services priced at 0 (no usage figure)
    fallback_prices: set[str] = field(default_factory=set)  # prices taken from the fallback region
    peak_events_per_second: float = 0.0

    @property
    def monthly_usd(self) -> float:
        return round(sum(item.monthly_usd for item in self.items), 2)

    def components(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for item in self.items:
            totals[item.component] = totals.get(item.component, 0.0) + item.monthly_usd
        return {name: round(total, 2) for name, total in sorted(totals.items(), key=lambda kv: -kv[1])}

    @property
    def per_million_events_usd(self) -> float | None:
        if not self.peak_events_per_second:
            return None
        return round(self.monthly_usd / (self.peak_events_per_second * SECONDS_PER_MONTH / 1e6), 4)

    def document(self) -> dict:
        return {
            "monthlyUsd": self.monthly_usd,
            "components": self.components(),
            "perMillionEventsUsd": self.per_million_events_usd,
            "peakEventsPerSecond": self.peak_events_per_second,
            "region": self.region,
            "resources": [
                {"urn": i.urn, "monthlyUsd": round(i.monthly_usd, 2), "detail": i.detail}
                for i in self.items
                if i.monthly_usd
            ],
            "unpriced": sorted(set(self.unpriced)),
            "usageOnly": sorted(set(self.usage_only)),
            "fallbackPrices": sorted(self.fallback_prices),
        }


def load_prices(path: Path = PRICES_PATH) -> dict:
    return json.loads(Path(path).read_text())


class PriceBook:
    """Prices of one region, falling back to the table's fallback region (and remembering which did)."""

    def __init__(self, table: dict, region: str):
        self.hours = table.get("hoursPerMonth", 730)
        self._fallback_name = table.get("fallbackRegion", "us-east-1")
        self._own = table["regions"].get(region, {})
        self._fallback = table["regions"].get(self._fallback_name, {})
        self.fallbacks: set[str] = set()

    def get(self, key: str, sub: str | None = None) -> float | None:
        for source, is_fallback in ((self._own, False), (self._fallback, True)):
            value = source.get(key)
            if sub is not None:
                value = value.get(sub) if isinstance(value, dict) else None
            if value is not None:
                if is_fallback and self._own is not self._fallback:
                    self.fallbacks.add(f"{key}:{sub}" if sub else key)
                return float(value)
        return None


def _number(value, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def plain(value):
    """Dicts and lists all the way down (the pack's read-only proxies included); a value still unknown during a
    preview, which the pack's proxies raise on, becomes None."""
    if isinstance(value, Mapping) or hasattr(value, "keys"):
        out = {}
        for key in list(value.keys()):
            try:
                out[key] = plain(value[key])
            except Exception:  # noqa: BLE001 - pulumi_policy raises its own error type for unknowns
                out[key] = None
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        out = []
        for i in range(len(value)):
            try:
                out.append(plain(value[i]))
            except Exception:  # noqa: BLE001
                out.append(None)
        return out
    return value


def tag_map(tags) -> dict:
    """Tags as {key: value}, from a map or from a list of {key, value} (ASG tags)."""
    if isinstance(tags, Mapping):
        return dict(tags)
    if isinstance(tags, Sequence) and not isinstance(tags, str):
        return {t.get("key"): t.get("value") for t in tags if isinstance(t, Mapping)}
    return {}


@dataclass
class Traffic:
    """What the program tagged on its streams: the design peak and each stream's load at it."""

    peak_events: float
    streams: dict[str, tuple[float, float]]  # physical name -> (records/s, bytes/s)
    readers: dict[str, int]  # physical name -> KCL apps reading it

    @classmethod
    def of(cls, resources: list[dict]) -> "Traffic":
        peak, streams, readers = 0.0, {}, {}
        for resource in resources:
            tags = tag_map(resource["props"].get("tags"))
            if resource["type"] == "aws:kinesis/stream:Stream":
                peak = max(peak, _number(tags.get(PEAK_EVENTS_TAG)))
                name = resource["props"].get("name") or resource["name"]
                streams[name] = (_number(tags.get(PEAK_RECORDS_TAG)), _number(tags.get(PEAK_BYTES_TAG)))
            if resource["type"] == "aws:autoscaling/group:Group" and tags.get(INPUT_STREAM_TAG):
                readers.setdefault(tags[INPUT_STREAM_TAG], set()).add(tags.get(KCL_APP_TAG))
        return cls(peak, streams, {stream: len(apps) for stream, apps in readers.items()})

    def kinesis_gb_per_month(self) -> float:
        per_second = sum(
            load[1] * (1 + self.readers.get(name, 1)) for name, load in self.streams.items()
        )  # each stream written once, read by each KCL app
        return per_second * SECONDS_PER_MONTH / 1e9

    def collector_gb_per_hour(self) -> float:
        raw = max((load[1] for name, load in self.streams.items() if name.endswith("-raw")), default=0.0)
        return raw * 3600 / 1e9


def _component_of(resource: dict, by_urn: dict) -> str:
    current = resource
    while True:
        parent = by_urn.get(current.get("parent") or "")
        if parent is None or parent["type"] == "pulumi:pulumi:Stack":
            return current["name"]
        current = parent


def _rate_runs_per_month(expression: str) -> float:
    """Runs a month of an EventBridge Scheduler expression: rate(N unit) exactly, cron(...) approximately."""
    match = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression or "")
    if match:
        minutes = int(match.group(1)) * {"m": 1, "h": 60, "d": 1440}[match.group(2)[0]]
        return SECONDS_PER_MONTH / 60 / minutes
    match = re.fullmatch(r"cron\((\S+) (\S+) .*\)", expression or "")
    if match:
        minute, hour = match.groups()
        per_hour = 60 / int(minute[2:]) if minute.startswith("0/") or minute.startswith("*/") else 1
        per_hour = 60 if minute == "*" else per_hour
        hours = 24 if hour in ("*", "?") else 24 / int(hour[2:]) if "/" in hour else len(hour.split(","))
        return per_hour * hours * 730 / 24
    return 730 / 24  # once a day


def estimate(resources: list[dict], region: str, table: dict | None = None) -> Estimate:
    """Price every resource for a month at the tagged design peak."""
    prices = PriceBook(table or load_prices(), region)
    hours = prices.hours
    by_urn = {r["urn"]: r for r in resources}
    traffic = Traffic.of(resources)
    result = Estimate(region=region, peak_events_per_second=traffic.peak_events)
    custom = [r for r in resources if r.get("custom", True) and r["type"] != "pulumi:pulumi:Stack"]
    endpoints = {
        str(r["props"].get("serviceName", "")).rsplit(".", 1)[-1]
        for r in custom
        if r["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint" and r["props"].get("vpcEndpointType") == "Interface"
    }
    log_groups = sum(1 for r in custom if r["type"] == "aws:cloudwatch/logGroup:LogGroup")
    # an ASG's launch template: its sibling under one component, else the template with the same Name tag (the
    # pack sees no components; the template's id is unknown until deploy)
    launch_templates = [r for r in custom if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"]
    by_parent = {r.get("parent"): r["props"] for r in launch_templates if r.get("parent")}
    by_name_tag = {tag_map(r["props"].get("tags")).get("Name"): r["props"] for r in launch_templates}

    def template_of(group: dict) -> dict:
        if group.get("parent") in by_parent:
            return by_parent[group["parent"]]
        return by_name_tag.get(tag_map(group["props"].get("tags")).get("Name"), {})

    schedules = [r for r in custom if r["type"] == "aws:scheduler/schedule:Schedule"]

    def runs(task: dict) -> list[dict]:
        """A schedule runs this task: its target names the task's family, else (ARN unknown until deploy) both
        sit under one component."""
        family = str(task["props"].get("family") or "")

        def starts(schedule: dict) -> bool:
            target = schedule["props"].get("target") or {}
            arn = str((target.get("ecsParameters") or {}).get("taskDefinitionArn") or "")
            if family and f":task-definition/{family}:" in f"{arn}:":
                return True
            component = by_urn.get(task.get("parent") or "", {}).get("type", "pulumi:pulumi:Stack")
            shared = component != "pulumi:pulumi:Stack" and schedule.get("parent") == task.get("parent")
            return not arn.startswith("arn:") and shared

        return [s for s in schedules if starts(s)]

    def add(resource, usd: float, detail: str) -> None:
        result.items.append(
            Item(resource["urn"], resource["type"], resource["name"], _component_of(resource, by_urn), usd, detail)
        )

    def price(key: str, sub: str | None = None) -> float:
        value = prices.get(key, sub)
        if value is None:
            raise KeyError(f"{key}:{sub}" if sub else key)
        return value

    kinesis_gb = traffic.kinesis_gb_per_month()
    log_gb = log_groups * LOG_GB_PER_GROUP_MONTH
    for resource in custom:
        kind, props = resource["type"], resource["props"]
        try:
            if kind == "aws:autoscaling/group:Group":
                template = template_of(resource)
                count = _number(props.get("desiredCapacity"), _number(props.get("minSize"), 1))
                instance_type = str(template.get("instanceType") or "")
                hourly = price("ec2Hour", instance_type)
                disk = sum(
                    _number((m.get("ebs") or {}).get("volumeSize"), 8)
                    for m in template.get("blockDeviceMappings") or []
                    if isinstance(m, Mapping)
                )
                usd = count * (hourly * hours + disk * price("ebsGp3GbMonth"))
                add(resource, usd, f"{count:g} x {instance_type} + {disk:g} GB gp3 each")
            elif kind == "aws:autoscaling/policy:Policy":
                if props.get("policyType") == "TargetTrackingScaling":
                    add(resource, ALARMS_PER_TARGET_TRACKING_POLICY * price("alarmMonth"), "2 alarms AWS creates")
            elif kind == "aws:ec2/natGateway:NatGateway":
                nats = sum(1 for r in custom if r["type"] == kind)
                through = (0 if "kinesis-streams" in endpoints else kinesis_gb) + (0 if "logs" in endpoints else log_gb)
                through += instance_count(custom) * NAT_BASELINE_GB_PER_INSTANCE_MONTH
                gb = through / nats
                add(resource, price("natHour") * hours + gb * price("natGb"), f"730 h + {gb:,.0f} GB processed")
            elif kind == "aws:ec2/eip:Eip":
                add(resource, price("publicIpv4Hour") * hours, "public IPv4 address")
            elif kind == "aws:ec2/vpcEndpoint:VpcEndpoint":
                if props.get("vpcEndpointType") != "Interface":
                    continue  # gateway endpoints (S3, DynamoDB) are free
                azs = len(props.get("subnetIds") or []) or 1
                service = str(props.get("serviceName", "")).rsplit(".", 1)[-1]
                gb = {"kinesis-streams": kinesis_gb, "logs": log_gb}.get(service, 0.0)
                usd = azs * price("endpointAzHour") * hours + gb * price("endpointGb")
                add(resource, usd, f"{azs} AZ x 730 h + {gb:,.0f} GB")
            elif kind == "aws:lb/loadBalancer:LoadBalancer":
                azs = len(props.get("subnets") or props.get("subnetMappings") or []) or 2
                label = f"{props.get('name') or ''} {tag_map(props.get('tags')).get('Name') or ''}"
                is_collector = _component_of(resource, by_urn) == "collector" or "collector" in label
                lcu = traffic.collector_gb_per_hour() if is_collector else 0.0
                public = 0 if props.get("internal") else azs
                usd = (price("albHour") + lcu * price("lcuHour") + public * price("publicIpv4Hour")) * hours
                add(resource, usd, f"730 h + {lcu:.2f} LCU + {public} public IPv4")
            elif kind == "aws:kinesis/stream:Stream":
                name = props.get("name") or resource["name"]
                records, size = traffic.streams.get(name, (0.0, 0.0))
                mode = str((props.get("streamModeDetails") or {}).get("streamMode") or "PROVISIONED")
                if mode == "ON_DEMAND":
                    gb_in = records * max(1024, size / records if records else 0) * SECONDS_PER_MONTH / 1e9
                    gb_out = size * traffic.readers.get(name, 1) * SECONDS_PER_MONTH / 1e9
                    extra_hours = max(0.0, _number(props.get("retentionPeriod"), 24) - 24)
                    kept_gb = size * extra_hours * 3600 / 1e9  # held beyond the included 24 h, all month
                    usd = (
                        price("kinesisOnDemandStreamHour") * hours
                        + gb_in * price("kinesisOnDemandGbIn")
                        + gb_out * price("kinesisOnDemandGbOut")
                        + kept_gb * price("kinesisOnDemandRetentionGbMonth")
                    )
                    add(
                        resource,
                        usd,
                        f"on-demand: 730 h + {gb_in:,.0f} GB in + {gb_out:,.0f} GB out + {kept_gb:,.0f} GB kept",
                    )
                else:
                    shards = _number(props.get("shardCount"), 1)
                    extended = _number(props.get("retentionPeriod"), 24) > 24
                    shard_hour = price("kinesisShardHour") + (
                        price("kinesisExtendedRetentionShardHour") if extended else 0
                    )
                    units_per_record = max(1, math.ceil((size / records) / PUT_UNIT_BYTES)) if records else 0
                    put_millions = records * units_per_record * SECONDS_PER_MONTH / 1e6
                    usd = shards * shard_hour * hours + put_millions * price("kinesisPutUnitsMillion")
                    add(resource, usd, f"{shards:g} shards + {put_millions:,.0f} M PUT units")
            elif kind == "aws:dynamodb/table:Table":
                if props.get("billingMode") == "PROVISIONED":
                    rcu, wcu = _number(props.get("readCapacity"), 1), _number(props.get("writeCapacity"), 1)
                    usd = (rcu * price("dynamodbRcuHour") + wcu * price("dynamodbWcuHour")) * hours
                    add(resource, usd, f"{rcu:g} RCU + {wcu:g} WCU")
                else:
                    units = LEASE_TABLE_UNITS_PER_SECOND * SECONDS_PER_MONTH / 1e6
                    usd = units * (price("dynamodbWriteUnitsMillion") + price("dynamodbReadUnitsMillion"))
                    add(resource, usd, f"on-demand: {units:.1f} M reads and writes")
            elif kind == "aws:kms/key:Key":
                add(resource, price("kmsKeyMonth"), "customer-managed key")
            elif kind == "aws:cloudwatch/logGroup:LogGroup":
                usd = LOG_GB_PER_GROUP_MONTH * (price("logsIngestGb") + price("logsStorageGbMonth"))
                add(resource, usd, f"{LOG_GB_PER_GROUP_MONTH:g} GB ingested and kept")
            elif kind == "aws:cloudwatch/metricAlarm:MetricAlarm":
                add(resource, price("alarmMonth"), "standard alarm")
            elif kind == "aws:cloudwatch/dashboard:Dashboard":
                add(resource, price("dashboardMonth"), "dashboard")
            elif kind == "aws:secretsmanager/secret:Secret":
                add(resource, price("secretMonth"), "secret")
            elif kind == "aws:rds/instance:Instance":
                copies = 2 if props.get("multiAz") else 1
                instance_class = str(props.get("instanceClass") or "")
                storage = _number(props.get("allocatedStorage"), 20)
                usd = copies * (price("rdsHour", instance_class) * hours + storage * price("rdsStorageGbMonth"))
                add(resource, usd, f"{copies} x {instance_class} + {storage:g} GB")
            elif kind in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2") and "lake" in resource["name"]:
                enriched = sum(load[1] for name, load in traffic.streams.items() if name.endswith("-enriched"))
                gb = enriched * LAKE_GZIP_RATIO * SECONDS_PER_MONTH / 1e9
                add(resource, gb * price("s3GbMonth"), f"grows {gb:,.0f} GB a month (priced for the month added)")
            elif kind == "aws:redshiftserverless/workgroup:Workgroup":
                rpu = _number(props.get("baseCapacity"), 128)
                active = _number(tag_map(props.get("tags")).get(ACTIVE_HOURS_TAG), REDSHIFT_DEFAULT_ACTIVE_HOURS)
                add(resource, rpu * active * price("redshiftRpuHour"), f"{rpu:g} RPU x {active:g} active h")
            elif kind == "aws:opensearch/domain:Domain":
                cluster = props.get("clusterConfig") or {}
                nodes = _number(cluster.get("instanceCount"), 1)
                node_type = str(cluster.get("instanceType") or "")
                ebs = props.get("ebsOptions") or {}
                disk = _number(ebs.get("volumeSize"), 10) if ebs.get("ebsEnabled", True) else 0
                usd = nodes * (price("opensearchHour", node_type) * hours + disk * price("opensearchGp3GbMonth"))
                add(resource, usd, f"{nodes:g} x {node_type} + {disk:g} GB each")
            elif kind == "aws:ecs/taskDefinition:TaskDefinition":
                runs_a_month = sum(
                    _rate_runs_per_month(str(s["props"].get("scheduleExpression") or "")) for s in runs(resource)
                )
                minutes = _number(tag_map(props.get("tags")).get("snowplow:run-minutes"), FARGATE_DEFAULT_RUN_MINUTES)
                arm = str((props.get("runtimePlatform") or {}).get("cpuArchitecture") or "").upper() == "ARM64"
                cpu, memory = _number(props.get("cpu"), 256) / 1024, _number(props.get("memory"), 512) / 1024
                vcpu_key, gb_key = (
                    ("fargateArmVcpuHour", "fargateArmGbHour") if arm else ("fargateVcpuHour", "fargateGbHour")
                )
                task_hours = runs_a_month * minutes / 60
                usd = task_hours * (cpu * price(vcpu_key) + memory * price(gb_key))
                add(resource, usd, f"{runs_a_month:,.0f} runs x {minutes:g} min of {cpu:g} vCPU / {memory:g} GB")
            elif kind in USAGE_TYPES:
                result.usage_only.append(kind)
            elif kind not in FREE_TYPES and not kind.startswith(("random:", "tls:", "command:")):
                result.unpriced.append(kind)
        except KeyError as missing:
            result.unpriced.append(f"{kind} ({missing.args[0]} not in the price table)")
        except (TypeError, ValueError, AttributeError, ZeroDivisionError):
            result.unpriced.append(f"{kind} (inputs unknown until deploy)")
    result.fallback_prices = prices.fallbacks
    return result


def instance_count(custom: list[dict]) -> float:
    """Instances the stack runs (ASG desired, else min): each sends a little through NAT whatever the traffic."""
    return sum(
        _number(r["props"].get("desiredCapacity"), _number(r["props"].get("minSize"), 1))
        for r in custom
        if r["type"] == "aws:autoscaling/group:Group"
    )


_REGION = re.compile(r"(?:com\.amazonaws\.|arn:aws[a-z-]*:[a-z0-9-]+:)([a-z]{2}(?:-gov)?-[a-z]+-\d)[.:]")


def region_of(resources: list[dict], default: str = "us-east-1") -> str:
    """The stack's region: the one most endpoint service names and ARNs among the resources' inputs name."""
    seen = Counter(
        region for resource in resources for region in _REGION.findall(json.dumps(resource["props"], default=str))
    )
    return seen.most_common(1)[0][0] if seen else default

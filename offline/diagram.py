"""Draw the planned architecture from the offline plan: one box per component, its notable resources inside,
and the data path between them (who writes and reads which stream, bucket prefix and database), found in the
plan itself: IAM statements, consumer tags and load balancer targets. Renders SVG and PNG with Graphviz.

    python -m offline.diagram --stack prod --out docs/architecture-prod    # writes .svg and .png
"""

import argparse
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz

from offline.engine import PROJECT_DIR, ProgramRun, StackFile, run_program

# type token -> (kind shown on the node, Graphviz shape, fill colour); everything else is counted, not drawn.
NOTABLE: dict[str, tuple[str, str, str]] = {
    "aws:lb/loadBalancer:LoadBalancer": ("load balancer", "box", "#f9d5a7"),
    "aws:autoscaling/group:Group": ("EC2 Auto Scaling group", "box3d", "#f7b267"),
    "aws:ecs/service:Service": ("ECS service", "box3d", "#f7b267"),
    "aws:lambda/function:Function": ("Lambda function", "box3d", "#f7b267"),
    "aws:scheduler/schedule:Schedule": ("schedule", "note", "#e9d8fd"),
    "aws:kinesis/stream:Stream": ("Kinesis stream", "cds", "#b5d99c"),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": ("Firehose", "cds", "#b5d99c"),
    "aws:sqs/queue:Queue": ("SQS queue", "cds", "#b5d99c"),
    "aws:s3/bucket:Bucket": ("S3 bucket", "folder", "#a3c4f3"),
    "aws:s3/bucketV2:BucketV2": ("S3 bucket", "folder", "#a3c4f3"),
    "aws:dynamodb/table:Table": ("DynamoDB lease table", "cylinder", "#d0d0d0"),
    "aws:rds/instance:Instance": ("RDS PostgreSQL", "cylinder", "#a3c4f3"),
    "aws:redshift/cluster:Cluster": ("Redshift", "cylinder", "#a3c4f3"),
    "aws:redshiftserverless/workgroup:Workgroup": ("Redshift Serverless", "cylinder", "#a3c4f3"),
    "aws:opensearch/domain:Domain": ("OpenSearch", "cylinder", "#a3c4f3"),
    "aws:glue/catalogDatabase:CatalogDatabase": ("Glue database", "cylinder", "#a3c4f3"),
    "aws:athena/workgroup:Workgroup": ("Athena workgroup", "box", "#a3c4f3"),
    "aws:sns/topic:Topic": ("SNS topic", "box", "#f4a6a6"),
    "aws:cloudwatch/dashboard:Dashboard": ("CloudWatch dashboard", "tab", "#f4a6a6"),
    "aws:kms/key:Key": ("KMS key", "octagon", "#eeeeee"),
    "aws:ec2/vpc:Vpc": ("VPC", "box", "#eeeeee"),
}
COMPUTE = (
    "aws:autoscaling/group:Group",
    "aws:ecs/service:Service",
    "aws:lambda/function:Function",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
)
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET = "aws:secretsmanager/secret:Secret"
NAME_INPUTS = ("name", "bucket", "identifier", "dashboardName", "clusterIdentifier", "domainName", "workgroupName")
DATA_EDGE = {"color": "#2b6cb0", "penwidth": "2"}


@dataclass
class Architecture:
    """What the picture shows: components with their nodes, and labelled edges between node ids."""

    stack: str
    components: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # name -> [(id, label, type)]
    counts: dict[str, int] = field(default_factory=dict)  # component -> resources not drawn
    edges: dict[tuple[str, str], str] = field(default_factory=dict)  # (from id, to id) -> label


def physical_name(resource: dict) -> str:
    inputs = resource["inputs"]
    for key in NAME_INPUTS:
        if isinstance(inputs.get(key), str) and inputs[key]:
            return inputs[key]
    return resource["name"]


def _top_components(resources: list[dict]) -> dict[str, str]:
    """urn -> name of its top-level component (the one whose parent is the stack)."""
    by_urn = {r["urn"]: r for r in resources}
    stack = next(r["urn"] for r in resources if r["type"] == "pulumi:pulumi:Stack")
    top: dict[str, str] = {}
    for resource in resources:
        node = resource
        while node.get("parent") and node["parent"] != stack and node["parent"] in by_urn:
            node = by_urn[node["parent"]]
        if node["urn"] != stack and node.get("parent") == stack:
            top[resource["urn"]] = node["name"]
    return top


def _label(resource: dict) -> str:
    kind = NOTABLE[resource["type"]][0]
    name, inputs = physical_name(resource), resource["inputs"]
    if resource["type"] == "aws:autoscaling/group:Group":
        return f"{name}\n{kind}, {int(inputs.get('minSize', 0))}-{int(inputs.get('maxSize', 0))} instances"
    if resource["type"] == "aws:kinesis/stream:Stream":
        shards = inputs.get("shardCount")
        mode = f"{int(shards)} shard(s)" if shards else "on-demand"
        return f"{name}\n{kind}, {mode}, {int(inputs.get('retentionPeriod', 24))}h"
    if resource["type"] == "aws:ec2/vpc:Vpc":
        return f"{kind} {inputs.get('cidrBlock', '')}"
    if resource["type"] == "aws:rds/instance:Instance":
        return f"{name}\n{kind} ({inputs.get('instanceClass', '')})"
    return f"{name}\n{kind}"


def _statements(policy: Any) -> Iterable[dict]:
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return []
    statements = (document or {}).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def describe(run: ProgramRun) -> Architecture:
    """The architecture the plan describes."""
    resources = run.resources
    top = _top_components(resources)
    arch = Architecture(run.stack)
    node_of: dict[str, str] = {}  # urn -> node id
    by_name: dict[tuple[str, str], str] = {}  # (type, physical name) -> node id
    for resource in resources:
        component = top.get(resource["urn"])
        if component is None or not resource["custom"]:
            continue
        if resource["type"] in NOTABLE:
            node = f"n{len(node_of)}"
            node_of[resource["urn"]] = node
            by_name[(resource["type"], physical_name(resource))] = node
            arch.components.setdefault(component, []).append((node, _label(resource), resource["type"]))
        else:
            arch.counts[component] = arch.counts.get(component, 0) + 1
            arch.components.setdefault(component, [])
    alarms = [r for r in resources if r["type"] == ALARM]
    if alarms:
        component = top[alarms[0]["urn"]]
        arch.components[component].append(("alarms", f"{len(alarms)} CloudWatch alarms", ALARM))
        arch.counts[component] -= len(alarms)
        for topic in (r for r in resources if r["type"] == "aws:sns/topic:Topic" and top.get(r["urn"]) == component):
            arch.edges[("alarms", node_of[topic["urn"]])] = "notify"

    def nodes_in(component: str | None, types: Iterable[str]) -> list[str]:
        return [n for n, _, t in arch.components.get(component, []) if t in types]

    streams = {name: node for (t, name), node in by_name.items() if t == "aws:kinesis/stream:Stream"}
    buckets = {
        name: node for (t, name), node in by_name.items() if t in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
    }
    database_of_secret = {}  # a database component's secrets lead to its database
    for secret in (r for r in resources if r["type"] == SECRET):
        databases = nodes_in(top.get(secret["urn"]), ("aws:rds/instance:Instance",))
        if databases:
            database_of_secret[physical_name(secret)] = databases[0]

    # Trackers reach the collector's load balancer; a load balancer forwards to its component's compute.
    for resource in resources:
        if resource["type"] == "aws:lb/loadBalancer:LoadBalancer" and resource["urn"] in node_of:
            component = top[resource["urn"]]
            for compute in nodes_in(component, COMPUTE):
                arch.edges[(node_of[resource["urn"]], compute)] = ""
            if any(r["type"] == "snowplow:pipeline:Collector" and r["name"] == component for r in resources):
                arch.edges[("trackers", node_of[resource["urn"]])] = "HTTP(S)"

    # Reads and writes, from each compute's IAM statements (the role is named like its group, else its component's).
    for policy in (r for r in resources if r["type"] == ROLE_POLICY):
        component = top.get(policy["urn"])
        role = policy["inputs"].get("role")
        compute = by_name.get(("aws:autoscaling/group:Group", role)) or next(iter(nodes_in(component, COMPUTE)), None)
        if compute is None:
            continue
        for statement in _statements(policy["inputs"].get("policy")):
            if statement.get("Effect") != "Allow":
                continue
            actions = set(_as_list(statement.get("Action")))
            for arn in (a for a in _as_list(statement.get("Resource")) if isinstance(a, str)):
                if ":kinesis:" in arn and ":stream/" in arn and (stream := streams.get(arn.split(":stream/")[1])):
                    if actions & {"kinesis:PutRecord", "kinesis:PutRecords"}:
                        arch.edges[(compute, stream)] = ""
                    if "kinesis:GetRecords" in actions:
                        arch.edges[(stream, compute)] = ""
                elif arn.startswith("arn:aws:s3:::") and "s3:PutObject" in actions:
                    bucket, _, prefix = arn.removeprefix("arn:aws:s3:::").partition("/")
                    if bucket in buckets and not prefix.startswith("config/"):
                        arch.edges[(compute, buckets[bucket])] = prefix.removesuffix("*")
                elif ":secretsmanager:" in arn and "secretsmanager:GetSecretValue" in actions:
                    name = arn.split(":secret:")[-1].rsplit("-", 1)[0]
                    if name in database_of_secret:
                        arch.edges.setdefault((compute, database_of_secret[name]), "SQL")
    return arch


def to_graph(arch: Architecture) -> graphviz.Digraph:
    graph = graphviz.Digraph(
        f"snowplow-{arch.stack}",
        graph_attr={
            "rankdir": "LR",
            "label": f"Snowplow pipeline, stack {arch.stack} (planned by the offline preview)",
            "labelloc": "t",
            "fontname": "Helvetica",
            "fontsize": "18",
            "compound": "true",
            "nodesep": "0.25",
            "ranksep": "0.6",
        },
        node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    graph.node("trackers", "Trackers and webhooks", shape="ellipse", fillcolor="#ffffff")
    for index, (component, nodes) in enumerate(sorted(arch.components.items())):
        if not nodes:
            continue
        extra = arch.counts.get(component, 0)
        if all(token == "aws:kinesis/stream:Stream" for _, _, token in nodes):
            # Streams float free, so Graphviz ranks each between its writers and readers: the data path reads
            # left to right.
            for node, label, token in nodes:
                graph.node(node, label, shape=NOTABLE[token][1], fillcolor=NOTABLE[token][2])
            continue
        with graph.subgraph(name=f"cluster_{index}") as cluster:
            cluster.attr(
                label=f"{component}" + (f"  (+{extra} resources)" if extra else ""), style="rounded", color="#888888"
            )
            for node, label, token in nodes:
                _, shape, colour = NOTABLE.get(token, ("", "box", "#f4a6a6"))
                cluster.node(node, label, shape=shape, fillcolor=colour)
    for (source, target), label in sorted(arch.edges.items()):
        graph.edge(source, target, label=label, **({} if label == "notify" else DATA_EDGE))
    return graph


def write(graph: graphviz.Digraph, out: Path, formats: Iterable[str] = ("svg", "png")) -> list[Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = out.with_suffix(f".{fmt}")
        target.write_bytes(graph.pipe(format=fmt))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make diagram", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--config", type=Path, help="path to any Pulumi.<name>.yaml stack file")
    parser.add_argument("--out", type=Path, help="output path without extension (default docs/architecture-<stack>)")
    args = parser.parse_args(argv)  # None: sys.argv[1:]
    path = args.config or PROJECT_DIR / f"Pulumi.{args.stack}.yaml"
    started = time.perf_counter()
    print(f"== planning {path.name} offline (mock engine)", flush=True)
    from stack_config import ConfigError

    try:
        run = run_program(StackFile.read(path))
    except (ConfigError, OSError, ValueError) as err:
        print(f"error: {path.name}: {err}", file=sys.stderr)
        return 1
    arch = describe(run)
    print(
        f"== drawing {sum(map(len, arch.components.values()))} resources in {len(arch.components)} components",
        flush=True,
    )
    out = args.out or PROJECT_DIR / "docs" / f"architecture-{run.stack}"
    for written in write(to_graph(arch), out):
        print(f"wrote {written}")
    print(f"Diagram of stack {run.stack} took {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

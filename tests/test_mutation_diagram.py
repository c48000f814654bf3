"""The architecture diagram drawn from a small hand-made plan: which components and boxes it shows, with what
labels, and which arrows (data path found in IAM statements, load balancers and the alarms' topic); the Graphviz
document it becomes; the files written and what `make diagram` prints."""

import html
import json
import shutil

import pytest

from offline import diagram
from offline.engine import ProgramRun

P = "urn:pulumi:t::snowplow::"
STACK = f"{P}pulumi:pulumi:Stack::snowplow-t"


def res(type_, name, inputs=None, parent=STACK, custom=True):
    return {
        "urn": f"{P}{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": parent,
        "custom": custom,
        "inputs": inputs or {},
    }


def component(type_, name, parent=STACK):
    return res(type_, name, parent=parent, custom=False)


def policy(name, parent, role, statements):
    document = {"Version": "2012-10-17", "Statement": statements}
    return res("aws:iam/rolePolicy:RolePolicy", name, {"role": role, "policy": json.dumps(document)}, parent["urn"])


def allow(actions, resources):
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


KINESIS = "arn:aws:kinesis:eu-west-1:123456789012:stream/"
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"


def small_plan() -> list[dict]:
    collector = component("snowplow:pipeline:Collector", "collector")
    enrich = component("snowplow:pipeline:Enrich", "enrich")
    inner = component("snowplow:apps:Ec2Service", "enrich-service", parent=enrich["urn"])
    streams = component("snowplow:platform:Streams", "streams")
    database = component("snowplow:platform:Database", "db")
    storage = component("snowplow:platform:Storage", "storage")
    network = component("snowplow:platform:Network", "network")
    loader = component("snowplow:pipeline:Loader", "loader")
    watch = component("snowplow:platform:Observability", "observability")
    lonely = component("snowplow:platform:Keys", "keys")
    iam = component("snowplow:platform:Access", "access")
    return [
        {**component("pulumi:pulumi:Stack", "snowplow-t", parent=None), "urn": STACK},
        collector,
        res("aws:lb/loadBalancer:LoadBalancer", "collector-lb", {"name": "t-collector"}, collector["urn"]),
        res("aws:lb/targetGroup:TargetGroup", "collector-tg", {"name": "t-collector-tg"}, collector["urn"]),
        res(
            "aws:autoscaling/group:Group",
            "collector-asg",
            {"name": "t-collector", "minSize": 2, "maxSize": 4.0},
            collector["urn"],
        ),
        policy(
            "collector-write",
            collector,
            "t-collector",
            [
                allow(["kinesis:PutRecord", "kinesis:PutRecords"], [f"{KINESIS}t-raw", f"{KINESIS}t-bad-1"]),
                {"Effect": "Deny", "Action": "kinesis:PutRecords", "Resource": f"{KINESIS}t-enriched"},
                allow("kinesis:DescribeStreamSummary", f"{KINESIS}t-enriched"),
            ],
        ),
        enrich,
        inner,
        # the role is named like no group: the component's compute reads and writes
        res("aws:autoscaling/group:Group", "enrich-asg", {"name": "t-enrich"}, inner["urn"]),
        policy(
            "enrich-rw",
            inner,
            "t-enrich-role",
            [
                allow(["kinesis:GetRecords", "kinesis:GetShardIterator"], f"{KINESIS}t-raw"),
                allow("kinesis:PutRecords", [f"{KINESIS}t-enriched", f"{KINESIS}t-elsewhere", {"Fn": "x"}]),
                allow("s3:PutObject", ["arn:aws:s3:::t-lake/enriched/*", "arn:aws:s3:::t-lake/config/*"]),
                allow("s3:GetObject", "arn:aws:s3:::t-lake/raw/*"),
                allow("secretsmanager:GetSecretValue", f"{SECRET}t-db-password-AbCdEf"),
                allow("secretsmanager:GetSecretValue", f"{SECRET}t-unknown-AbCdEf"),
            ],
        ),
        policy("enrich-broken", inner, "t-enrich-role", [])
        | {"inputs": {"role": "t-enrich-role", "policy": "{not json"}},
        policy("enrich-single", inner, "t-enrich-role", allow("s3:PutObject", "arn:aws:s3:::t-lake/bad/*")),
        # a document given as an object, not JSON text; and one without statements
        res(
            "aws:iam/rolePolicy:RolePolicy",
            "enrich-object",
            {"role": "t-enrich-role", "policy": {"Statement": [allow("s3:PutObject", "arn:aws:s3:::logs/good/*")]}},
            inner["urn"],
        ),
        res(
            "aws:iam/rolePolicy:RolePolicy",
            "enrich-empty",
            {"role": "t-enrich-role", "policy": '{"Version": "2012-10-17"}'},
            inner["urn"],
        ),
        loader,
        res("aws:lambda/function:Function", "loader-fn", {"name": "t-loader"}, loader["urn"]),
        policy(
            "loader-write",
            loader,
            "t-loader-role",
            [allow("secretsmanager:GetSecretValue", f"{SECRET}t-db-password-Zz")],
        ),
        policy("loader-sql", loader, "t-loader-role", [allow("s3:PutObject", "arn:aws:s3:::t-other-bucket/x/*")]),
        streams,
        res(
            "aws:kinesis/stream:Stream",
            "raw",
            {"name": "t-raw", "shardCount": 2, "retentionPeriod": 48},
            streams["urn"],
        ),
        res("aws:kinesis/stream:Stream", "bad-1", {"name": "t-bad-1", "shardCount": 1}, streams["urn"]),
        res("aws:kinesis/stream:Stream", "enriched", {"name": "t-enriched"}, streams["urn"]),
        database,
        res(
            "aws:rds/instance:Instance",
            "events",
            {"identifier": "t-events", "instanceClass": "db.t4g.micro"},
            database["urn"],
        ),
        res("aws:secretsmanager/secret:Secret", "password", {"name": "t-db-password"}, database["urn"]),
        storage,
        res("aws:s3/bucketV2:BucketV2", "lake", {"bucket": "t-lake"}, storage["urn"]),
        res("aws:s3/bucket:Bucket", "logs", {"bucket": ""}, storage["urn"]),
        # a role policy of a component without compute draws nothing
        policy("storage-replication", storage, "t-replication", [allow("s3:PutObject", "arn:aws:s3:::t-lake/x/*")]),
        network,
        res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}, network["urn"]),
        res("aws:ec2/subnet:Subnet", "subnet-a", {}, network["urn"]),
        res("aws:ec2/subnet:Subnet", "subnet-b", {}, network["urn"]),
        watch,
        res("aws:sns/topic:Topic", "alerts", {"name": "t-alerts"}, watch["urn"]),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "lag", {}, watch["urn"]),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "cpu", {}, watch["urn"]),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "errors", {}, watch["urn"]),
        res("aws:cloudwatch/dashboard:Dashboard", "board", {"dashboardName": "t-board"}, watch["urn"]),
        res("aws:sns/topicSubscription:TopicSubscription", "mail", {}, watch["urn"]),
        lonely,
        iam,
        res("aws:iam/role:Role", "role", {"name": "t-role"}, iam["urn"]),
        res("aws:ec2/vpc:Vpc", "adopted", {}, iam["urn"]),  # no CIDR known
        res("aws:rds/instance:Instance", "replica", {"identifier": "t-replica"}, iam["urn"]),
        # a secret and a role policy outside every component draw nothing
        res("aws:secretsmanager/secret:Secret", "stray", {"name": "t-stray"}, "urn:gone"),
        policy("stray-policy", {"urn": "urn:gone"}, "t-nobody", [allow("kinesis:GetRecords", f"{KINESIS}t-raw")]),
        # a resource whose parent is not in the plan, and the provider (parented by nothing) are not drawn
        res("aws:kms/key:Key", "orphan", {}, f"{P}snowplow:gone:Thing::gone"),
        res("pulumi:providers:aws", "default", {}, None),
    ]


def run_of(resources) -> ProgramRun:
    return ProgramRun("snowplow", "t", resources, {}, set())


def test_each_component_shows_its_notable_resources_labelled_and_counts_the_rest():
    arch = diagram.describe(run_of(small_plan()))
    assert arch.stack == "t"
    nodes = {name: [(label, kind) for _, label, kind in entries] for name, entries in arch.components.items()}
    assert nodes == {
        "collector": [
            ("t-collector\nload balancer", "aws:lb/loadBalancer:LoadBalancer"),
            ("t-collector\nEC2 Auto Scaling group, 2-4 instances", "aws:autoscaling/group:Group"),
        ],
        "enrich": [("t-enrich\nEC2 Auto Scaling group, 0-0 instances", "aws:autoscaling/group:Group")],
        "loader": [("t-loader\nLambda function", "aws:lambda/function:Function")],
        "streams": [
            ("t-raw\nKinesis stream, 2 shard(s), 48h", "aws:kinesis/stream:Stream"),
            ("t-bad-1\nKinesis stream, 1 shard(s), 24h", "aws:kinesis/stream:Stream"),
            ("t-enriched\nKinesis stream, on-demand, 24h", "aws:kinesis/stream:Stream"),
        ],
        "db": [("t-events\nRDS PostgreSQL (db.t4g.micro)", "aws:rds/instance:Instance")],
        "storage": [("t-lake\nS3 bucket", "aws:s3/bucketV2:BucketV2"), ("logs\nS3 bucket", "aws:s3/bucket:Bucket")],
        "network": [("VPC 10.0.0.0/16", "aws:ec2/vpc:Vpc")],
        "access": [
            ("VPC ", "aws:ec2/vpc:Vpc"),
            ("t-replica\nRDS PostgreSQL ()", "aws:rds/instance:Instance"),
        ],
        "observability": [
            ("t-alerts\nSNS topic", "aws:sns/topic:Topic"),
            ("t-board\nCloudWatch dashboard", "aws:cloudwatch/dashboard:Dashboard"),
            ("3 CloudWatch alarms", diagram.ALARM),
        ],
    }
    assert arch.counts == {
        "collector": 2,  # target group, role policy
        "enrich": 5,  # five role policies (the inner component itself is not a resource of AWS)
        "loader": 2,
        "db": 1,  # the secret
        "storage": 1,
        "network": 2,
        "observability": 1,  # the subscription; the alarms are one box
        "access": 1,  # the role
    }
    ids = [node for entries in arch.components.values() for node, _, _ in entries]
    assert len(ids) == len(set(ids))
    # every arrow joins drawn boxes (or the trackers)
    assert {end for edge in arch.edges for end in edge} <= {*ids, "trackers"}


def test_the_arrows_follow_the_data_from_trackers_to_the_stores():
    arch = diagram.describe(run_of(small_plan()))
    label = {node: text.split("\n")[0] for entries in arch.components.values() for node, text, _ in entries}
    label["trackers"], label["alarms"] = "trackers", "alarms"
    edges = {(label[a], label[b]): text for (a, b), text in arch.edges.items()}
    assert edges == {
        ("trackers", "t-collector"): "HTTP(S)",
        ("t-collector", "t-collector"): "",  # load balancer -> its group
        ("t-collector", "t-raw"): "",
        ("t-collector", "t-bad-1"): "",
        ("t-raw", "t-enrich"): "",
        ("t-enrich", "t-enriched"): "",
        ("t-enrich", "t-lake"): "bad/",
        ("t-enrich", "logs"): "good/",
        ("t-enrich", "t-events"): "SQL",
        ("t-loader", "t-events"): "SQL",
        ("alarms", "t-alerts"): "notify",
    }


def test_a_role_named_like_a_group_draws_from_that_group():
    plan = small_plan()
    (enrich_policy,) = [r for r in plan if r["name"] == "enrich-rw"]
    enrich_policy["inputs"]["role"] = "t-collector"  # named like the collector's group
    for r in plan:
        if r["name"] in ("enrich-single", "enrich-broken"):
            plan.remove(r)
    arch = diagram.describe(run_of(plan))
    label = {node: text.split("\n")[0] for entries in arch.components.values() for node, text, _ in entries}
    label["trackers"], label["alarms"] = "trackers", "alarms"
    edges = {(label[a], label[b]): text for (a, b), text in arch.edges.items()}
    assert edges[("t-raw", "t-collector")] == ""
    assert edges[("t-collector", "t-lake")] == "enriched/"
    assert ("t-raw", "t-enrich") not in edges


def test_a_load_balancer_outside_the_collector_forwards_but_takes_no_tracker_traffic():
    plan = small_plan()
    (collector,) = [r for r in plan if r["type"] == "snowplow:pipeline:Collector"]
    collector["type"] = "snowplow:pipeline:IgluServer"  # same component name, not the collector
    arch = diagram.describe(run_of(plan))
    (lb,) = [n for entries in arch.components.values() for n, _, t in entries if t.startswith("aws:lb/")]
    assert [e for e in arch.edges if lb in e] == [
        (lb, next(n for n, _, t in arch.components["collector"] if "autoscaling" in t))
    ]
    assert not any(source == "trackers" for source, _ in arch.edges)


def test_a_plan_without_alarms_or_compute_has_no_arrows():
    keys = component("snowplow:platform:Keys", "keys")
    plan = [
        {**component("pulumi:pulumi:Stack", "snowplow-t", parent=None), "urn": STACK},
        keys,
        res("aws:kms/key:Key", "key", {}, keys["urn"]),
        res("aws:lb/loadBalancer:LoadBalancer", "lb", {"name": "x"}, "urn:not-in-plan"),
    ]
    arch = diagram.describe(run_of(plan))
    assert arch.components == {"keys": [("n0", "key\nKMS key", "aws:kms/key:Key")]}
    assert arch.counts == {} and arch.edges == {}


EXPECTED_SOURCE = r"""digraph "snowplow-t" {
	graph [compound=true fontname=Helvetica fontsize=18 label="Snowplow pipeline, stack t (planned by the offline preview)" labelloc=t nodesep=0.25 rankdir=LR ranksep=0.6]
	node [fontname=Helvetica fontsize=10 style=filled]
	edge [fontname=Helvetica fontsize=9]
	trackers [label="Trackers and webhooks" fillcolor="#ffffff" shape=ellipse]
	subgraph cluster_0 {
		color="#888888" label=app style=rounded
		n1 [label="t-app
EC2 Auto Scaling group, 1-2 instances" fillcolor="#f7b267" shape=box3d]
		n0 [label="t-lb
load balancer" fillcolor="#f9d5a7" shape=box]
	}
	n2 [label="t-raw
Kinesis stream, 1 shard(s), 24h" fillcolor="#b5d99c" shape=cds]
	subgraph cluster_3 {
		color="#888888" label="observability  (+1 resources)" style=rounded
		n3 [label="t-alerts
SNS topic" fillcolor="#f4a6a6" shape=box]
		alarms [label="1 CloudWatch alarms" fillcolor="#f4a6a6" shape=box]
	}
	alarms -> n3 [label=notify]
	n0 -> n1 [label="" color="#2b6cb0" penwidth=2]
	n1 -> n2 [label=raw color="#2b6cb0" penwidth=2]
}
"""


def test_the_graph_is_clusters_of_boxes_with_free_streams_and_blue_data_arrows():
    arch = diagram.Architecture(
        "t",
        components={
            "observability": [
                ("n3", "t-alerts\nSNS topic", "aws:sns/topic:Topic"),
                ("alarms", "1 CloudWatch alarms", diagram.ALARM),
            ],
            "bus": [("n2", "t-raw\nKinesis stream, 1 shard(s), 24h", "aws:kinesis/stream:Stream")],
            "app": [
                ("n1", "t-app\nEC2 Auto Scaling group, 1-2 instances", "aws:autoscaling/group:Group"),
                ("n0", "t-lb\nload balancer", "aws:lb/loadBalancer:LoadBalancer"),
            ],
            "empty": [],
        },
        counts={"observability": 1, "empty": 4},
        edges={("n1", "n2"): "raw", ("alarms", "n3"): "notify", ("n0", "n1"): ""},
    )
    assert diagram.to_graph(arch).source == EXPECTED_SOURCE


class FakeGraph:
    def __init__(self):
        self.formats = []

    def pipe(self, format):
        self.formats.append(format)
        return f"<{format} bytes>".encode()


def test_write_puts_one_file_per_format_beside_a_new_folder(tmp_path):
    graph = FakeGraph()
    written = diagram.write(graph, tmp_path / "deep" / "er" / "arch")
    assert written == [tmp_path / "deep/er/arch.svg", tmp_path / "deep/er/arch.png"]
    assert [p.read_bytes() for p in written] == [b"<svg bytes>", b"<png bytes>"]
    assert diagram.write(graph, tmp_path / "one.x", ["pdf"]) == [tmp_path / "one.pdf"]


def test_make_diagram_plans_the_stack_draws_it_and_says_what_it_wrote(tmp_path, capsys, monkeypatch):
    planned = []

    def fake_run_program(stack_file):
        planned.append(stack_file)
        return ProgramRun("snowplow", stack_file.stack, small_plan(), {}, set())

    monkeypatch.setattr(diagram, "run_program", fake_run_program)
    drawn = []

    def fake_write(graph, out):
        drawn.append(graph.source)
        return [out.with_suffix(".svg"), out.with_suffix(".png")]

    monkeypatch.setattr(diagram, "write", fake_write)
    stack = tmp_path / "Pulumi.mine.yaml"
    stack.write_text("config:\n  aws:region: eu-west-1\n")
    assert diagram.main(["--config", str(stack), "--out", str(tmp_path / "pic")]) == 0
    assert planned[0].config == {"aws:region": "eu-west-1"} and planned[0].stack == "mine"
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "== planning Pulumi.mine.yaml offline (mock engine)",
        "== drawing 16 resources in 9 components",
        f"wrote {tmp_path / 'pic.svg'}",
        f"wrote {tmp_path / 'pic.png'}",
    ]
    assert 'digraph "snowplow-mine"' in drawn[0] and "t-enriched" in drawn[0]
    assert lines[4].startswith("Diagram of stack mine took ") and lines[4].endswith("s")
    assert 0 <= float(lines[4].removeprefix("Diagram of stack mine took ").removesuffix("s")) < 60
    assert len(lines) == 5
    # by stack name, into docs/ by default
    assert diagram.main(["--stack", "prod"]) == 0
    assert planned[1].path == diagram.PROJECT_DIR / "Pulumi.prod.yaml"
    assert f"wrote {diagram.PROJECT_DIR / 'docs' / 'architecture-prod.svg'}" in capsys.readouterr().out
    assert diagram.main([]) == 0
    assert planned[2].path == diagram.PROJECT_DIR / "Pulumi.dev.yaml"
    monkeypatch.setattr("sys.argv", ["make diagram", "--stack", "prod"])  # as `make diagram` runs it
    assert diagram.main() == 0
    assert planned[3].path == diagram.PROJECT_DIR / "Pulumi.prod.yaml"


def test_make_diagram_of_a_file_that_is_no_stack_file_says_why_and_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(diagram, "write", lambda *a: pytest.fail("drew something"))
    assert diagram.main(["--config", str(tmp_path / "settings.yaml")]) == 1
    captured = capsys.readouterr()
    assert (
        captured.err
        == f"error: settings.yaml: {tmp_path / 'settings.yaml'}: a stack file is named Pulumi.<stack>.yaml\n"
    )
    assert diagram.main(["--config", str(tmp_path / "Pulumi.gone.yaml")]) == 1
    assert captured.out == "== planning settings.yaml offline (mock engine)\n"
    assert capsys.readouterr().err.startswith("error: Pulumi.gone.yaml: [Errno 2] No such file or directory")


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz's dot is not installed")
def test_the_drawn_svg_shows_the_title_and_the_boxes():
    svg = diagram.to_graph(diagram.describe(run_of(small_plan()))).pipe(format="svg").decode()
    assert "Snowplow pipeline, stack t (planned by the offline preview)" in svg
    assert "t-enriched" in html.unescape(svg) and "3 CloudWatch alarms" in svg


class ShownStream:
    """A terminal stand-in: what was written is shown only once flushed."""

    def __init__(self):
        self.pending, self.shown = "", ""

    def write(self, text):
        self.pending += text

    def flush(self):
        self.shown, self.pending = self.shown + self.pending, ""


def test_make_diagram_shows_each_step_before_it_starts(tmp_path, monkeypatch):
    stdout = ShownStream()
    monkeypatch.setattr("sys.stdout", stdout)

    def slow_plan(stack_file):
        assert stdout.shown == "== planning Pulumi.mine.yaml offline (mock engine)\n"
        return ProgramRun("snowplow", stack_file.stack, small_plan(), {}, set())

    def slow_draw(graph, out):
        assert stdout.shown.endswith("== drawing 16 resources in 9 components\n")
        return []

    monkeypatch.setattr(diagram, "run_program", slow_plan)
    monkeypatch.setattr(diagram, "write", slow_draw)
    stack = tmp_path / "Pulumi.mine.yaml"
    stack.write_text("config: {}\n")
    assert diagram.main(["--config", str(stack), "--out", str(tmp_path / "pic")]) == 0


def test_make_diagram_of_an_invalid_stack_names_the_file_and_exits_1(tmp_path, capsys, monkeypatch):
    from stack_config import ConfigError

    def invalid(stack_file):
        raise ConfigError(["snowplow:environment: must be dev or prod (got 'qa')"])

    monkeypatch.setattr(diagram, "run_program", invalid)
    stack = tmp_path / "Pulumi.qa.yaml"
    stack.write_text("config: {}\n")
    assert diagram.main(["--config", str(stack)]) == 1
    assert capsys.readouterr().err == (
        "error: Pulumi.qa.yaml: invalid stack configuration:\n  - snowplow:environment: must be dev or prod (got 'qa')\n"
    )


def test_make_diagram_explains_itself(capsys):
    with pytest.raises(SystemExit):
        diagram.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: make diagram [-h] [--stack STACK | --config CONFIG] [--out OUT]")
    assert "Draw the planned architecture from the offline plan" in out
    assert "--stack STACK stack name: reads Pulumi.<stack>.yaml (default dev)" in out
    assert "--config CONFIG path to any Pulumi.<name>.yaml stack file" in out
    assert "--out OUT output path without extension (default docs/architecture-<stack>)" in out
    assert "Renders SVG and PNG with Graphviz." in out and "python -m offline.diagram" not in out  # 1st paragraph


def test_a_component_of_plain_resources_is_a_box_of_counts_and_one_alarm_is_one_box():
    watch = component("snowplow:platform:Observability", "observability")
    access = component("snowplow:platform:Access", "access")
    plan = [
        {**component("pulumi:pulumi:Stack", "snowplow-t", parent=None), "urn": STACK},
        access,
        res("aws:iam/role:Role", "role", {"name": "t-role"}, access["urn"]),
        watch,
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "lag", {}, watch["urn"]),
    ]
    arch = diagram.describe(run_of(plan))
    assert arch.components == {
        "access": [],
        "observability": [("alarms", "1 CloudWatch alarms", diagram.ALARM)],
    }
    assert arch.counts == {"access": 1, "observability": 0}

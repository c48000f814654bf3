"""`make preview` on a small hand-made plan (the program's run replaced, the real policy pack judging it): the printed
tree, outputs, summary, cost and policy report, the exit code, the JSON plan, the rendered files and the diagram."""

import base64
import gc
import io
import json
import shutil

import pytest

from offline import preview
from offline.engine import ProgramRun
from offline.policy import PolicyPackProcess
from stack_config import ConfigError
from tests.conftest import write_stack

P = "urn:pulumi:t::snowplow::"
STACK = f"{P}pulumi:pulumi:Stack::snowplow-t"


def res(type_, name, parent=STACK, custom=True, inputs=None, protect=False, retain=False):
    return {
        "urn": f"{P}{type_}::{name}",
        "type": type_,
        "name": name,
        "custom": custom,
        "parent": parent,
        "inputs": inputs or {},
        "protect": protect,
        "retainOnDelete": retain,
        "dependencies": [],
        "propertyDependencies": {},
    }


APP = f"{P}snowplow:test:App::app"
INNER = f"{P}snowplow:test:Inner::inner"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def small_run(stack="t") -> ProgramRun:
    resources = [
        res("pulumi:pulumi:Stack", "snowplow-t", parent=None, custom=False) | {"urn": STACK},
        res("aws:kinesis/stream:Stream", "raw", inputs={"name": "t-raw", "shardCount": 1, "retentionPeriod": 24}),
        res("snowplow:test:App", "app", custom=False),
        res("aws:sqs/queue:Queue", "queue", parent=APP),
        res("aws:sqs/queuePolicy:QueuePolicy", "queue-policy", parent=f"{P}aws:sqs/queue:Queue::queue"),
        res("aws:kms/key:Key", "key", parent=APP, protect=True, retain=True),
        res("snowplow:test:Inner", "inner", parent=APP, custom=False),
        res("aws:s3/bucketV2:BucketV2", "bucket", parent=INNER, retain=True),
        # objects the renderer skips come first: one without a file name must not end the loop
        res(OBJECT, "no-file", parent=INNER, inputs={"content": "x", "metadata": {"snowplow-app": "enrich"}}),
        res(
            OBJECT, "config", parent=INNER, inputs={"content": "[secret]", "metadata": _meta("enrich", "config.hocon")}
        ),
        res(OBJECT, "archive", parent=INNER, inputs={"contentBase64": "AAA=", "metadata": _meta("dbt", "p.tar.gz")}),
        res(OBJECT, "iglu", parent=INNER, inputs={"content": "{}", "metadata": _meta("enrich", "iglu.json")}),
        res(OBJECT, "no-app", parent=INNER, inputs={"content": "x", "metadata": {"snowplow-file": "f"}}),
        res(OBJECT, "plain", parent=INNER, inputs={"content": "x"}),
        res(
            "aws:s3/bucketObject:BucketObject",
            "other",
            parent=INNER,
            inputs={"content": "x", "metadata": _meta("a", "b")},
        ),
    ]
    revealed = {
        f"{P}{OBJECT}::config": {"content": "password = hunter2\n", "metadata": _meta("enrich", "config.hocon")},
        f"{P}{OBJECT}::archive": {
            "contentBase64": base64.b64encode(b"\x1f\x8b binary").decode(),
            "metadata": _meta("dbt", "p.tar.gz"),
        },
    }
    outputs = {"collector_url": "http://t.example", "stream_names": {"raw": "t-raw"}, "token": "s3cr3t", "n": 2}
    return ProgramRun("snowplow", stack, resources, outputs, {"token"}, revealed, ["watch out", "and this"])


def _meta(app, name):
    return {"snowplow-app": app, "snowplow-file": name}


TREE = [
    "pulumi:pulumi:Stack  snowplow-t",
    "├─ snowplow:test:App  app",
    "│  ├─ snowplow:test:Inner  inner",
    "│  │  ├─ aws:s3/bucketObject:BucketObject  other",
    "│  │  ├─ aws:s3/bucketObjectv2:BucketObjectv2  archive",
    "│  │  ├─ aws:s3/bucketObjectv2:BucketObjectv2  config",
    "│  │  ├─ aws:s3/bucketObjectv2:BucketObjectv2  iglu",
    "│  │  ├─ aws:s3/bucketObjectv2:BucketObjectv2  no-app",
    "│  │  ├─ aws:s3/bucketObjectv2:BucketObjectv2  no-file",
    "│  │  ├─ aws:s3/bucketObjectv2:BucketObjectv2  plain",
    "│  │  └─ aws:s3/bucketV2:BucketV2  bucket [retain]",
    "│  ├─ aws:kms/key:Key  key [protect] [retain]",
    "│  └─ aws:sqs/queue:Queue  queue",
    "│     └─ aws:sqs/queuePolicy:QueuePolicy  queue-policy",
    "└─ aws:kinesis/stream:Stream  raw",
]
OUTPUTS = [
    "Outputs:",
    "    collector_url: http://t.example",
    "    n            : 2",
    '    stream_names : {"raw": "t-raw"}',
    "    token        : [secret]",
]
SUMMARY = "Resources: 15 (12 AWS resources, 2 components, 1 stack)"


def test_the_tree_outputs_and_summary_read_like_the_clis():
    run = small_run()
    assert preview.tree_lines(run) == TREE
    assert preview.output_lines(run) == OUTPUTS
    assert preview.summary_line(run) == SUMMARY
    empty = ProgramRun("snowplow", "t", [], {}, set())
    assert preview.output_lines(empty) == ["Outputs:"]
    assert preview.tree_lines(empty) == []


def test_the_json_plan_masks_secret_outputs():
    run = small_run()
    document = preview.plan_document(run)
    assert document == {
        "project": "snowplow",
        "stack": "t",
        "resources": run.resources,
        "outputs": {
            "collector_url": "http://t.example",
            "stream_names": {"raw": "t-raw"},
            "token": "[secret]",
            "n": 2,
        },
    }


def test_rendered_files_are_written_as_uploaded_revealed_under_app_and_file_name(tmp_path):
    run = small_run()
    written = preview.render_app_files(run, tmp_path / "out")
    assert written == [
        tmp_path / "out/dbt/p.tar.gz",
        tmp_path / "out/enrich/config.hocon",
        tmp_path / "out/enrich/iglu.json",
    ]
    assert (tmp_path / "out/enrich/iglu.json").read_text() == "{}"
    assert (tmp_path / "out/enrich/config.hocon").read_text() == "password = hunter2\n"
    assert (tmp_path / "out/dbt/p.tar.gz").read_bytes() == b"\x1f\x8b binary"
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*")) == [
        tmp_path.joinpath("out/dbt").relative_to(tmp_path),
        tmp_path.joinpath("out/dbt/p.tar.gz").relative_to(tmp_path),
        tmp_path.joinpath("out/enrich").relative_to(tmp_path),
        tmp_path.joinpath("out/enrich/config.hocon").relative_to(tmp_path),
        tmp_path.joinpath("out/enrich/iglu.json").relative_to(tmp_path),
    ]
    # without a revealed copy the plan's inputs are written
    run.revealed_inputs.clear()
    preview.render_app_files(run, tmp_path / "masked")
    assert (tmp_path / "masked/enrich/config.hocon").read_text() == "[secret]"


def test_the_policy_config_follows_the_stacks_environment_unless_one_is_given(tmp_path):
    def stack_file(config):
        from offline.engine import StackFile

        return StackFile.read(write_stack(tmp_path, "t", config))

    given = tmp_path / "mine.json"
    assert preview.policy_config_for(stack_file({"snowplow:environment": "prod"}), given) == given
    assert preview.policy_config_for(stack_file({"snowplow:environment": "prod"}), None) == (
        preview.PACK_DIR / "config.prod.json"
    )
    assert preview.policy_config_for(stack_file({}), None) == preview.PACK_DIR / "config.dev.json"
    assert preview.policy_config_for(stack_file({"snowplow:environment": "staging"}), None) is None


def test_the_command_line_options():
    args = preview.parse_args([])
    assert (args.stack, args.config, args.json, args.render, args.policy_config, args.no_policy, args.diagram) == (
        "dev",
        None,
        None,
        None,
        None,
        False,
        None,
    )
    with pytest.raises(SystemExit) as error:
        preview.parse_args(["--stack", "prod", "--config", "Pulumi.dev.yaml"])
    assert error.value.code == 2


def test_collections_are_rarer_while_the_program_runs_and_restored_after():
    before = gc.get_threshold()
    with preview.fewer_collections():
        assert gc.get_threshold() == (before[0] * 20, *before[1:])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), preview.fewer_collections():
        raise RuntimeError("the program failed")
    assert gc.get_threshold() == before


@pytest.fixture
def planned(monkeypatch):
    """preview.run_program answers with small_run(), handing each resource to the pack as the engine would."""
    calls = []

    def fake_run_program(stack_file, on_register=None):
        calls.append((stack_file, on_register))
        run = small_run(stack_file.stack)
        for resource in run.resources:
            if on_register is not None:
                on_register(resource)
        return run

    monkeypatch.setattr(preview, "run_program", fake_run_program)
    return calls


@pytest.fixture
def kills(monkeypatch):
    killed = []
    original = PolicyPackProcess.kill

    def kill(self):
        killed.append(self)
        original(self)

    monkeypatch.setattr(PolicyPackProcess, "kill", kill)
    return killed


def _stack(tmp_path, config=None):
    return write_stack(tmp_path, "t", {"aws:region": "eu-west-1", "snowplow:environment": "dev", **(config or {})})


def test_preview_prints_everything_judges_with_the_pack_and_exits_2_on_a_mandatory_violation(
    tmp_path, capsys, planned, kills
):
    plan, rendered = tmp_path / "deep/er/plan.json", tmp_path / "rendered"
    code = preview.main(["--config", str(_stack(tmp_path)), "--json", str(plan), "--render", str(rendered)])
    assert code == preview.EXIT_POLICY == 2
    ((stack_file, on_register),) = planned
    assert stack_file.stack == "t" and on_register is not None
    captured = capsys.readouterr()
    assert captured.err == "warning: watch out\nwarning: and this\n"
    out = captured.out.split("\n")
    document = json.loads(plan.read_text())
    cost_start = len(TREE) + len(OUTPUTS) + 4
    assert out[:cost_start] == [*TREE, "", *OUTPUTS, "", SUMMARY, ""]
    assert out[cost_start].startswith("Estimated cost: $") and out[cost_start].endswith(" a month in eu-west-1")
    policies = out.index("Policies:")
    assert out[policies + 1] == f"    ❌ snowplow-guardrails@v{document['policy']['version']} (local: policies)"
    assert f"        - [mandatory]  kinesis-stream-require-kms  ({P}aws:kinesis/stream:Stream::raw)" in out
    tail = [line for line in out if line]
    assert tail[-3:-1] == [f"Plan written to {plan}", f"3 app config files written under {rendered}"]
    assert tail[-1].startswith("Preview of stack t took ") and tail[-1].endswith("s")
    assert 0 <= float(tail[-1].removeprefix("Preview of stack t took ").removesuffix("s")) < 60
    # the JSON plan: the program's plan, its cost and the pack's verdict
    assert document["project"] == "snowplow" and document["stack"] == "t"
    assert document["resources"] == small_run().resources
    assert document["outputs"]["token"] == "[secret]"
    assert document["cost"]["region"] == "eu-west-1" and document["cost"]["monthlyUsd"] > 0
    assert set(document["policy"]) == {"pack", "version", "violations"}
    assert document["policy"]["pack"] == "snowplow-guardrails"
    assert any(
        v["policy"] == "kinesis-stream-require-kms" and v["enforcementLevel"] == "mandatory"
        for v in document["policy"]["violations"]
    )
    assert plan.read_text().endswith("}\n") and plan.read_text().startswith('{\n  "project": "snowplow",\n')
    assert (rendered / "enrich/config.hocon").read_text() == "password = hunter2\n"
    assert len(kills) == 1
    assert (kills[0].stack, kills[0].project) == ("t", "snowplow")  # the pack is told which stack it judges


def test_an_advisory_only_verdict_exits_0_and_no_policy_skips_the_pack(tmp_path, capsys, planned, kills):
    relaxed = tmp_path / "relaxed.json"
    relaxed.write_text(json.dumps({"all": "advisory"}))
    code = preview.main(["--config", str(_stack(tmp_path)), "--policy-config", str(relaxed)])
    assert code == preview.EXIT_OK
    out = capsys.readouterr().out
    assert "    ⚠️ snowplow-guardrails@v" in out and "[advisory]  kinesis-stream-require-kms" in out
    assert "Plan written" not in out and "app config files" not in out
    assert planned[-1][1] is not None

    plan = tmp_path / "plan.json"
    assert preview.main(["--config", str(_stack(tmp_path)), "--no-policy", "--json", str(plan)]) == preview.EXIT_OK
    assert planned[-1][1] is None  # nothing streamed to a pack
    assert "Policies:" not in capsys.readouterr().out
    assert "policy" not in json.loads(plan.read_text())
    assert len(kills) == 2


def test_the_cost_is_priced_where_the_provider_would_deploy(tmp_path, capsys, planned, monkeypatch):
    stack = write_stack(tmp_path, "t", {"snowplow:environment": "dev"})
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert preview.main(["--config", str(stack), "--no-policy"]) == 0
    assert " a month in us-east-1" in capsys.readouterr().out
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert preview.main(["--config", str(stack), "--no-policy"]) == 0
    assert " a month in eu-west-1" in capsys.readouterr().out


def test_the_pack_is_told_the_projects_name(tmp_path, planned, kills, monkeypatch):
    monkeypatch.setattr(preview, "project_name", lambda: "my-data")
    preview.main(["--config", str(_stack(tmp_path))])
    assert (kills[0].stack, kills[0].project) == ("t", "my-data")


def test_a_config_error_exits_1_naming_the_file_and_stops_the_pack(tmp_path, capsys, monkeypatch, kills):
    def failing(stack_file, on_register=None):
        raise ConfigError(["snowplow:streams.shards.raw: must be at least 1 (got 0)"])

    monkeypatch.setattr(preview, "run_program", failing)
    plan = tmp_path / "plan.json"
    assert preview.main(["--config", str(_stack(tmp_path)), "--json", str(plan)]) == preview.EXIT_CONFIG == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "error: Pulumi.t.yaml: invalid stack configuration:\n  - snowplow:streams.shards.raw: must be at least 1 (got 0)\n"
    )
    assert captured.out == "" and not plan.exists()
    assert len(kills) == 1


def test_a_missing_stack_file_exits_1(tmp_path, capsys, planned):
    assert preview.main(["--config", str(tmp_path / "Pulumi.gone.yaml")]) == preview.EXIT_CONFIG
    assert capsys.readouterr().err.startswith("error: [Errno 2] No such file or directory")
    assert planned == []


def test_the_stack_option_reads_the_projects_stack_file(capsys, planned, monkeypatch):
    assert preview.main(["--stack", "prod", "--no-policy"]) == 0
    assert planned[-1][0].path == preview.PROJECT_DIR / "Pulumi.prod.yaml"
    assert preview.main(["--no-policy"]) == 0
    assert planned[-1][0].path == preview.PROJECT_DIR / "Pulumi.dev.yaml"
    assert "Preview of stack dev took" in capsys.readouterr().out
    monkeypatch.setattr("sys.argv", ["offline.preview", "--stack", "prod", "--no-policy"])  # as `make preview` runs it
    assert preview.main() == 0
    assert planned[-1][0].path == preview.PROJECT_DIR / "Pulumi.prod.yaml"


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz's dot is not installed")
def test_the_diagram_is_drawn_in_the_format_its_name_asks_for(tmp_path, capsys, planned):
    for name, start in (("arch.svg", b"<?xml"), ("arch.png", b"\x89PNG"), ("plain", b"<?xml")):
        target = tmp_path / name
        assert preview.main(["--config", str(_stack(tmp_path)), "--no-policy", "--diagram", str(target)]) == 0
        written = target if target.suffix else target.with_suffix(".svg")
        assert written.read_bytes().startswith(start)
        assert f"Architecture diagram written to {written}" in capsys.readouterr().out


def test_exit_now_flushes_what_was_printed_and_exits_with_the_code(monkeypatch):
    flushed, exits = [], []

    class Stream(io.StringIO):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def flush(self):
            flushed.append(self.name)

    monkeypatch.setattr("sys.stdout", Stream("out"))
    monkeypatch.setattr("sys.stderr", Stream("err"))
    monkeypatch.setattr(preview.os, "_exit", exits.append)
    preview.exit_now(2)
    assert flushed == ["out", "err"] and exits == [2]


def test_the_help_explains_each_option(capsys):
    with pytest.raises(SystemExit):
        preview.parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: make preview [-h] [--stack STACK | --config CONFIG] [--json JSON] [--render RENDER]")
    assert "Exit codes: 0 ok, 1 invalid stack config, 2 a mandatory policy violation." in out
    for option in (
        "--stack STACK stack name: reads Pulumi.<stack>.yaml (default dev)",
        "--config CONFIG path to any Pulumi.<name>.yaml stack file",
        "--json JSON write the machine-readable plan here",
        "--render RENDER write every rendered app config file under this folder",
        "--policy-config POLICY_CONFIG policy pack config file (default: policies/config.<environment>.json for the "
        "stack's environment)",
        "--no-policy skip the policy pack",
        "--diagram DIAGRAM draw the planned architecture here (.svg or .png; needs Graphviz)",
    ):
        assert option in out

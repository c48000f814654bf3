"""The policy driver as the CLI's stand-in: a tiny pack of our own started as its own process (as `pulumi preview
--policy-pack` starts one) reports back what it was sent (environment, requests, options, providers, stack view), so
the start-up, the messages built from plan entries, the config merge and its errors, the shutdown and the preview's
policy section are all checked as the user meets them."""

import json
import signal
import textwrap
import time

import pytest

from offline import policy
from offline.policy import (
    PolicyPackError,
    PolicyPackProcess,
    format_violations,
    load_policy_config,
    mandatory_violations,
    run_policy_pack,
)

TINY_PACK = textwrap.dedent(
    '''\
    import json
    import os
    import sys

    from pulumi_policy import (
        EnforcementLevel,
        PolicyConfigSchema,
        PolicyPack,
        ResourceValidationPolicy,
        StackValidationPolicy,
    )

    print("tiny pack starting", file=sys.stderr, flush=True)
    ENV = {k: os.environ.get(k) for k in ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_ORGANIZATION", "PULUMI_DRY_RUN")}
    ENV["config"] = json.loads(os.environ.get("PULUMI_CONFIG") or "null")


    def plain(value):
        """The SDK's read-only mappings and lists as JSON values."""
        if hasattr(value, "items"):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value


    def provider(p):
        return None if p is None else {"type": p.resource_type, "urn": p.urn, "name": p.name, "props": plain(p.props)}


    def seen(args, report):
        """Reports what it was sent about each resource, and the config it runs with."""
        if args.resource_type == "tiny:index:Quiet":
            return
        report(json.dumps({
            "type": args.resource_type,
            "name": args.name,
            "urn": args.urn,
            "props": plain(args.props),
            "protect": args.opts.protect,
            "parent": args.opts.parent,
            "provider": provider(args.provider),
            "config": plain(args.get_config()),
            "env": ENV,
        }, sort_keys=True))


    def stack(args, report):
        """Reports the stack as a stack policy sees it."""
        if any(r.name == "boom" for r in args.resources):
            raise RuntimeError("boom in the stack policy")
        report(json.dumps([{
            "name": r.name,
            "parent": r.parent.name if r.parent else None,
            "dependencies": [d.name for d in r.dependencies],
            "propertyDependencies": {k: [d.name for d in v] for k, v in r.property_dependencies.items()},
            "provider": provider(r.provider),
            "protect": r.opts.protect,
        } for r in args.resources], sort_keys=True))


    PolicyPack(
        name="tiny",
        policies=[
            ResourceValidationPolicy(
                name="tiny-seen",
                description="Reports each resource.",
                validate=seen,
                enforcement_level=EnforcementLevel.ADVISORY,
                config_schema=PolicyConfigSchema(
                    properties={"limit": {"type": "integer", "default": 3}, "label": {"type": "string"}},
                ),
            ),
            StackValidationPolicy(
                name="tiny-stack",
                description="Reports the stack.",
                validate=stack,
                enforcement_level=EnforcementLevel.MANDATORY,
                config_schema=PolicyConfigSchema(properties={"owner": {"type": "string"}}, required=["owner"]),
            ),
        ],
        initial_config={"tiny-stack": {"enforcementLevel": EnforcementLevel.MANDATORY, "owner": "data-team"}},
    )
    '''
)


def make_pack(folder, main=TINY_PACK, version="1.2.3"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "PulumiPolicy.yaml").write_text(
        f"runtime: python\nversion: {version}\n" if version else "runtime: python\n"
    )
    (folder / "__main__.py").write_text(main)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_pack(tmp_path_factory.mktemp("tiny"))


P = "urn:pulumi:dev::snowplow::"
STACK_URN = f"{P}pulumi:pulumi:Stack::snowplow-dev"
PROVIDER = {
    "urn": f"{P}pulumi:providers:aws::eu",
    "type": "pulumi:providers:aws",
    "name": "eu",
    "custom": True,
    "parent": None,
    "inputs": {"region": "eu-west-1"},
}
COMPONENT = {"urn": f"{P}tiny:index:Group::group", "type": "tiny:index:Group", "name": "group", "custom": False}
BUCKET = {
    "urn": f"{P}tiny:index:Group$aws:s3/bucket:Bucket::data",
    "type": "aws:s3/bucket:Bucket",
    "name": "data",
    "custom": True,
    "parent": COMPONENT["urn"],
    "inputs": {"bucket": "t-data", "tags": {"a": "b"}},
    "protect": True,
    "provider": f"{PROVIDER['urn']}::4f0e",
    "dependencies": [PROVIDER["urn"]],
    "propertyDependencies": {"bucket": [PROVIDER["urn"]]},
}
QUIET = {
    "urn": f"{P}tiny:index:Quiet::q",
    "type": "tiny:index:Quiet",
    "name": "q",
    "provider": "urn:not-in-plan::1",
    "parent": BUCKET["urn"],
}
PLAIN = {"urn": f"{P}tiny:index:Quiet::plain", "type": "tiny:index:Quiet", "name": "plain", "provider": PROVIDER["urn"]}
PLAN = [PROVIDER, COMPONENT, BUCKET, QUIET, PLAIN]


def _seen(report):
    (found,) = [v for v in report["violations"] if v["policy"] == "tiny-seen" and v["urn"] == BUCKET["urn"]]
    return json.loads(found["message"].splitlines()[-1])


def test_a_pack_runs_as_its_own_process_with_the_stack_in_its_environment(tiny, monkeypatch):
    at_exit = []
    monkeypatch.setattr(policy.atexit, "register", lambda f: at_exit.append(f))
    monkeypatch.setattr(policy.atexit, "unregister", lambda f: at_exit.remove(f))
    process = PolicyPackProcess(tiny, stack="staging", project="proj", organization="org", stack_config={"a:b": "c"})
    assert process.startup_seconds is None and not process.running
    with process as pack:
        assert pack.running and 0 < pack.startup_seconds < 60
        assert at_exit == [pack.close]  # stopped at exit, should the caller forget
        assert pack.start() is pack  # already started: the same process
        assert pack.info.name == "tiny"
        report = pack.run(PLAN)
        deadline = time.monotonic() + 5
        while "tiny pack starting" not in pack.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "tiny pack starting" in pack.stderr()
    assert not process.running and process.stderr() == ""
    assert at_exit == []
    assert _seen(report)["env"] == {
        "PULUMI_PROJECT": "proj",
        "PULUMI_STACK": "staging",
        "PULUMI_ORGANIZATION": "org",
        "PULUMI_DRY_RUN": "true",
        "config": {"a:b": "c"},
    }
    assert (report["pack"], report["version"], report["policies"]) == ("tiny", "1.2.3", 2)


def test_each_resource_is_sent_with_its_inputs_options_and_provider(tiny):
    with PolicyPackProcess(tiny) as pack:
        report = pack.run(PLAN, {"tiny-seen": {"label": "x"}})
    seen = _seen(report)
    assert {k: seen[k] for k in ("type", "name", "urn", "props", "protect", "parent", "provider")} == {
        "type": "aws:s3/bucket:Bucket",
        "name": "data",
        "urn": BUCKET["urn"],
        "props": {"bucket": "t-data", "tags": {"a": "b"}},
        "protect": True,
        "parent": COMPONENT["urn"],
        "provider": {
            "type": "pulumi:providers:aws",
            "urn": PROVIDER["urn"],
            "name": "eu",
            "props": {"region": "eu-west-1"},
        },
    }
    assert seen["config"] == {"limit": 3, "label": "x"}  # the schema's default, then the file's value
    assert seen["env"]["PULUMI_STACK"] == "dev" and seen["env"]["PULUMI_PROJECT"] == "snowplow"
    assert seen["env"]["PULUMI_ORGANIZATION"] == "organization" and seen["env"]["config"] == {}
    # the provider is analysed too (a custom resource); the component and a resource without message are not
    assert {v["urn"] for v in report["violations"] if v["policy"] == "tiny-seen"} == {BUCKET["urn"], PROVIDER["urn"]}
    provider = json.loads(
        next(v for v in report["violations"] if v["urn"] == PROVIDER["urn"])["message"].splitlines()[-1]
    )
    assert (provider["protect"], provider["parent"], provider["provider"]) == (False, None, None)


def test_the_stack_policy_sees_parents_dependencies_and_providers(tiny):
    with PolicyPackProcess(tiny) as pack:
        report = pack.run(PLAN)
    (stack,) = [v for v in report["violations"] if v["policy"] == "tiny-stack"]
    assert stack["urn"] == "" and stack["enforcementLevel"] == "mandatory"
    resources = {r["name"]: r for r in json.loads(stack["message"].splitlines()[-1])}
    assert set(resources) == {"eu", "data", "q", "plain"}  # custom resources only
    assert resources["q"]["parent"] == "data"
    assert resources["plain"]["provider"]["name"] == "eu"  # named by its URN alone, without an id
    assert resources["data"] == {
        "name": "data",
        "parent": None,  # its parent, a component, is not among the custom resources a stack policy sees
        "dependencies": ["eu"],
        "propertyDependencies": {"bucket": ["eu"]},
        "provider": {
            "type": "pulumi:providers:aws",
            "urn": PROVIDER["urn"],
            "name": "eu",
            "props": {"region": "eu-west-1"},
        },
        "protect": True,
    }
    assert resources["q"]["provider"] is None and resources["q"]["dependencies"] == []
    assert resources["eu"]["protect"] is False


def test_the_config_is_merged_as_the_cli_merges_it(tiny):
    with PolicyPackProcess(tiny) as pack:
        assert pack.complete_config() == {
            "tiny-seen": ("advisory", {"limit": 3}),
            "tiny-stack": ("mandatory", {"owner": "data-team"}),
        }
        assert pack.complete_config({"all": "disabled", "tiny-seen": {"limit": 7}}) == {
            "tiny-seen": ("disabled", {"limit": 7}),
            "tiny-stack": ("disabled", {"owner": "data-team"}),
        }
        assert pack.complete_config({"all": {"label": "ignored"}, "tiny-stack": "advisory"}) == {
            "tiny-seen": ("advisory", {"limit": 3}),
            "tiny-stack": ("advisory", {"owner": "data-team"}),
        }
        assert pack.complete_config({"other-rule": {"enforcementLevel": "mandatory", "x": 1}})["other-rule"] == (
            "mandatory",
            {"x": 1},
        )
        with pytest.raises(PolicyPackError) as error:
            pack.complete_config({"tiny-seen": {"limit": "many", "label": 5}, "tiny-stack": {"owner": None}})
        assert str(error.value).splitlines() == [
            "invalid policy pack config:",
            "  tiny-seen: limit: 'many' is not of type 'integer'",
            "  tiny-seen: label: 5 is not of type 'string'",
            "  tiny-stack: owner: None is not of type 'string'",
        ]


def test_a_disabled_or_relaxed_config_changes_the_verdict_and_is_sent_again_only_when_it_changes(tiny, tmp_path):
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"tiny-stack": "advisory"}))
    with PolicyPackProcess(tiny) as pack:
        calls = []
        original = pack._call

        def counting(method, request):
            calls.append(method)
            return original(method, request)

        pack._call = counting
        report = pack.run(PLAN, config)
        assert [v["enforcementLevel"] for v in report["violations"] if v["policy"] == "tiny-stack"] == ["advisory"]
        assert mandatory_violations(report) == []
        pack.run(PLAN, config)
        assert calls.count("Configure") == 1
        config.write_text(json.dumps({"tiny-stack": "mandatory"}))
        time.sleep(0.01)
        config.touch()
        report = pack.run(PLAN, config)
        assert calls.count("Configure") == 2
        assert [v["policy"] for v in mandatory_violations(report)] == ["tiny-stack"]
        assert pack.run(PLAN, {"all": "disabled"})["violations"] == []
        assert calls.count("Configure") == 3


def test_the_one_shot_run_starts_and_stops_the_pack(tiny, tmp_path):
    config = tmp_path / "c.json"
    config.write_text("")  # an empty file is an empty config
    report = run_policy_pack(PLAN, "prod", "other", config, pack_dir=tiny)
    assert _seen(report)["env"]["PULUMI_STACK"] == "prod" and _seen(report)["env"]["PULUMI_PROJECT"] == "other"


def test_without_a_version_in_its_file_the_pack_reports_its_own(tmp_path):
    folder = make_pack(tmp_path / "nover", version=None)
    with PolicyPackProcess(folder) as pack:
        assert pack.version == pack.info.version == "0.0.1"


def test_kill_stops_the_pack_at_once(tiny):
    pack = PolicyPackProcess(tiny).start()
    process = pack._process
    pack.kill()
    assert process.returncode == -signal.SIGKILL
    assert not pack.running and pack.stderr() == ""
    pack.kill()  # nothing left to stop
    pack.close()


def test_close_asks_the_pack_to_stop_with_sigint(tiny, monkeypatch):
    pack = PolicyPackProcess(tiny).start()
    process = pack._process
    sent, send = [], process.send_signal
    monkeypatch.setattr(process, "send_signal", lambda signum: (sent.append(signum), send(signum))[1])
    pack.close()
    # SIGINT first; SIGKILL (Popen.kill sends it through send_signal) only if the pack outlived the grace period,
    # which a loaded machine can make it do
    assert sent[0] == signal.SIGINT and sent[1:] in ([], [signal.SIGKILL])
    stopped_by = -signal.SIGKILL if sent[1:] else None
    assert process.returncode is not None and (process.returncode == -signal.SIGKILL) == (stopped_by is not None)
    assert process.stdout.closed


def test_a_pack_that_prints_something_else_than_a_port_is_reported(tmp_path):
    folder = make_pack(tmp_path / "chatty", 'print("hello there", flush=True)\nimport time\ntime.sleep(60)\n')
    pack = PolicyPackProcess(folder)
    with pytest.raises(PolicyPackError) as error:
        pack.start()
    assert str(error.value) == "unexpected first line from the policy pack: b'hello there\\n'"
    assert not pack.running and pack._process is None


def test_a_pack_that_never_reports_its_port_times_out(tmp_path):
    folder = make_pack(
        tmp_path / "silent", 'import sys, time\nsys.stdout.write("40")\nsys.stdout.flush()\ntime.sleep(60)\n'
    )
    pack = PolicyPackProcess(folder, start_timeout=1.5)
    started = time.monotonic()
    with pytest.raises(PolicyPackError) as error:
        pack.start()
    assert str(error.value) == "policy pack did not report its port within 1.5s"
    assert 1.4 < time.monotonic() - started < 30
    assert not pack.running


def test_a_pack_that_exits_before_serving_shows_its_code_and_stderr(tmp_path):
    folder = make_pack(tmp_path / "quits", 'import sys\nprint("no policies today", file=sys.stderr)\nsys.exit(3)\n')
    pack = PolicyPackProcess(folder)
    with pytest.raises(PolicyPackError) as error:
        pack.start()
    message = str(error.value)
    assert message.startswith("policy pack exited with code 1 before serving:\n") or message.startswith(
        "policy pack exited with code 3 before serving:\n"
    )
    assert "no policies today" in message


def test_config_files_and_entries_are_checked(tmp_path):
    assert load_policy_config(None) == {}
    path = tmp_path / "c.json"
    path.write_text("  \n")
    assert load_policy_config(path) == {}
    path.write_text(json.dumps({"all": "advisory", "a-rule": {"enforcementLevel": "mandatory", "max": 2}, "b": {}}))
    assert load_policy_config(str(path)) == {
        "all": ("advisory", {}),
        "a-rule": ("mandatory", {"max": 2}),
        "b": (None, {}),
    }
    path.write_text("[1]")
    with pytest.raises(PolicyPackError) as error:
        load_policy_config(path)
    assert str(error.value) == "policy pack config must be a JSON object"
    with pytest.raises(PolicyPackError) as error:
        load_policy_config({"a-rule": 3})
    assert str(error.value) == "policy config 'a-rule': must be an enforcement level or an object, not 3"
    with pytest.raises(PolicyPackError) as error:
        load_policy_config({"a-rule": "strict"})
    assert str(error.value) == (
        "policy config 'a-rule': 'strict' is not one of ('advisory', 'mandatory', 'remediate', 'disabled')"
    )
    with pytest.raises(PolicyPackError, match="'loud' is not one of"):
        load_policy_config({"a-rule": {"enforcementLevel": "loud"}})


def test_the_policy_section_lists_mandatory_first_then_by_rule_and_resource():
    report = {
        "pack": "p",
        "version": "2.0.0",
        "violations": [
            {"policy": "b-rule", "enforcementLevel": "advisory", "urn": "urn:2", "message": "one\ntwo"},
            {"policy": "a-rule", "enforcementLevel": "advisory", "urn": "urn:9", "message": "m"},
            {"policy": "a-rule", "enforcementLevel": "advisory", "urn": "urn:1", "message": "m"},
            {"policy": "z-rule", "enforcementLevel": "remediate", "urn": "urn:1", "message": "r"},
            {"policy": "y-rule", "enforcementLevel": "disabled", "urn": "urn:1", "message": "d"},
            {"policy": "stack-rule", "enforcementLevel": "mandatory", "urn": "", "message": "whole stack"},
        ],
    }
    assert format_violations(report, "local: mine").splitlines() == [
        "Policies:",
        "    ❌ p@v2.0.0 (local: mine)",
        "        - [mandatory]  stack-rule",
        "          whole stack",
        "        - [remediate]  z-rule  (urn:1)",
        "          r",
        "        - [advisory]  a-rule  (urn:1)",
        "          m",
        "        - [advisory]  a-rule  (urn:9)",
        "          m",
        "        - [advisory]  b-rule  (urn:2)",
        "          one",
        "          two",
        "        - [disabled]  y-rule  (urn:1)",
        "          d",
    ]
    report["violations"] = report["violations"][:5]
    assert format_violations(report).splitlines()[1] == "    ⚠️ p@v2.0.0 (local: policies)"
    assert mandatory_violations(report) == []


def test_a_diagnostic_without_urn_or_known_level_is_reported_on_the_resource_as_advisory():
    diagnostic = policy.analyzer_pb2.AnalyzeDiagnostic(policyName="r", message="m", enforcementLevel=99)
    assert policy._violation(diagnostic, "urn:x") == {
        "policy": "r",
        "enforcementLevel": "advisory",
        "urn": "urn:x",
        "message": "m",
    }
    diagnostic = policy.analyzer_pb2.AnalyzeDiagnostic(
        policyName="r", message="m", enforcementLevel=policy.analyzer_pb2.MANDATORY, urn="urn:own"
    )
    assert policy._violation(diagnostic, "urn:x")["urn"] == "urn:own"
    assert policy._violation(diagnostic, "urn:x")["enforcementLevel"] == "mandatory"


def test_a_crashing_stack_policy_fails_the_run_naming_the_call(tiny):
    boom = {"urn": f"{P}tiny:index:Quiet::boom", "type": "tiny:index:Quiet", "name": "boom"}
    with PolicyPackProcess(tiny) as pack:
        with pytest.raises(PolicyPackError) as error:
            pack.run([boom])
        assert str(error.value).startswith("AnalyzeStack failed: UNKNOWN: ")
        assert "boom in the stack policy" in str(error.value)
        assert pack.running  # the pack itself lives on


def test_a_pack_that_ignores_sigint_is_killed_after_the_grace_period(tmp_path):
    deaf = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n" + TINY_PACK
    pack = PolicyPackProcess(make_pack(tmp_path / "deaf", deaf)).start()
    process = pack._process
    started = time.monotonic()
    pack.close()
    assert process.returncode == -signal.SIGKILL
    assert 4.5 < time.monotonic() - started < 30


def test_the_analyze_requests_carry_each_plan_entry_as_the_cli_sends_it():
    by_urn = {r["urn"]: r for r in PLAN}
    request = policy._analyze_request(BUCKET, by_urn)
    assert (request.type, request.urn, request.name) == ("aws:s3/bucket:Bucket", BUCKET["urn"], "data")
    assert policy.json_format.MessageToDict(request.properties) == {"bucket": "t-data", "tags": {"a": "b"}}
    assert (request.options.protect, request.options.parent) == (True, COMPONENT["urn"])
    assert (request.provider.type, request.provider.urn, request.provider.name) == (
        "pulumi:providers:aws",
        PROVIDER["urn"],
        "eu",
    )
    assert policy.json_format.MessageToDict(request.provider.properties) == {"region": "eu-west-1"}
    plain = policy._analyze_request(PLAIN, by_urn)
    assert plain.provider.name == "eu" and plain.options.parent == "" and plain.options.protect is False
    assert not policy._analyze_request(QUIET, by_urn).HasField("provider")  # its provider is not in the plan
    assert not policy._analyze_request(PROVIDER, by_urn).HasField("provider")

    stack = policy._stack_resource(BUCKET, by_urn)
    assert (stack.type, stack.urn, stack.name, stack.parent) == (
        "aws:s3/bucket:Bucket",
        BUCKET["urn"],
        "data",
        COMPONENT["urn"],
    )
    assert list(stack.dependencies) == [PROVIDER["urn"]]
    assert {k: list(v.urns) for k, v in stack.propertyDependencies.items()} == {"bucket": [PROVIDER["urn"]]}
    assert stack.options.protect is True and stack.options.parent == COMPONENT["urn"] and stack.provider.name == "eu"
    bare = policy._stack_resource(PROVIDER, by_urn)
    assert (bare.parent, list(bare.dependencies), dict(bare.propertyDependencies)) == ("", [], {})
    assert not bare.HasField("provider")

"""The pack's single-conversion servicer gives exactly the stock servicer's answers, and is used only where checked."""

import sys
from pathlib import Path

import pytest
from pulumi.runtime.proto import analyzer_pb2

from offline.engine import StackFile, run_program
from offline.policy import _TO_PROTO, PolicyPackProcess, _analyze_request, _stack_resource, _struct
from tests.peer_cases import CASES
from tests.policy_helpers import PACK_DIR, PROJECT, STACK

ROOT = PACK_DIR.parent
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

import snowplow_fast_analyzer as fast  # noqa: E402
from pulumi_policy.policy import EnforcementLevel, _PolicyAnalyzerServicer  # noqa: E402


@pytest.fixture(autouse=True)
def _switch_unset(monkeypatch):
    """These tests choose the servicer themselves, also when the suite runs with SNOWPLOW_POLICY_STOCK=1."""
    monkeypatch.delenv(fast.STOCK_SWITCH, raising=False)


@pytest.fixture
def stock_methods():
    yield dict(fast._STOCK_METHODS)
    fast.uninstall()


def test_installed_only_for_checked_pulumi_policy_versions(stock_methods, monkeypatch):
    monkeypatch.delenv(fast.STOCK_SWITCH, raising=False)
    assert fast.install("1.21.0") is True
    assert _PolicyAnalyzerServicer.Analyze is fast.analyze
    assert _PolicyAnalyzerServicer.AnalyzeStack is fast.analyze_stack

    assert fast.install("1.22.0") is False  # an unchecked version: the stock servicer, untouched
    assert _PolicyAnalyzerServicer.Analyze is stock_methods["Analyze"]
    assert _PolicyAnalyzerServicer.AnalyzeStack is stock_methods["AnalyzeStack"]
    assert _PolicyAnalyzerServicer._configure_runtime_settings is stock_methods["_configure_runtime_settings"]


def test_the_switch_forces_the_stock_servicer(stock_methods, monkeypatch):
    monkeypatch.setenv(fast.STOCK_SWITCH, "1")
    assert fast.install("1.21.0") is False
    assert _PolicyAnalyzerServicer.Analyze is stock_methods["Analyze"]


def test_the_installed_pulumi_policy_is_a_checked_version():
    """When requirements move pulumi-policy, re-check the servicer's internals and add the version."""
    from importlib import metadata

    assert metadata.version("pulumi-policy") in fast.CHECKED_VERSIONS


@pytest.fixture(scope="module")
def servicer():
    import snowplow_rules

    servicer = _PolicyAnalyzerServicer(
        "snowplow-guardrails", "0.0.1", snowplow_rules.POLICIES, EnforcementLevel.ADVISORY
    )
    servicer.ConfigureStack(
        analyzer_pb2.AnalyzerStackConfigureRequest(stack=STACK, project=PROJECT, organization="o", dry_run=True), None
    )
    return servicer


def _configure(servicer, config) -> None:
    """Send the complete config, merged as the CLI merges it (as `PolicyPackProcess.configure` does)."""
    process = PolicyPackProcess.__new__(PolicyPackProcess)
    process._info, process._process, process._warm_up = servicer.GetAnalyzerInfo(None, None), object(), None
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, (level, props) in process.complete_config(config).items():
        request.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(enforcementLevel=_TO_PROTO[level], properties=_struct(props))
        )
    servicer.Configure(request, None)


def _answers(servicer, resources: list[dict]) -> list:
    by_urn = {r["urn"]: r for r in resources}
    custom = [r for r in resources if r.get("custom", True)]
    answers = [servicer.Analyze(_analyze_request(r, by_urn), None) for r in custom]
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(r, by_urn) for r in custom])
    return [*answers, servicer.AnalyzeStack(stack, None)]


def _both_ways(servicer, resources: list[dict], config) -> tuple[list, list]:
    _configure(servicer, config)
    fast.uninstall()
    stock = _answers(servicer, resources)
    assert fast.install("1.21.0")
    try:
        quick = _answers(servicer, resources)
    finally:
        fast.uninstall()
    return stock, quick


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_same_answers_on_every_peer_case(servicer, case, monkeypatch):
    monkeypatch.setenv("PULUMI_PROJECT", PROJECT)
    monkeypatch.setenv("PULUMI_STACK", STACK)
    monkeypatch.setenv("PULUMI_DRY_RUN", "true")
    stock, quick = _both_ways(servicer, list(case.resources), dict(case.config))
    assert quick == stock


@pytest.mark.parametrize("stack_file", ["Pulumi.prod.yaml", "tests/stacks/Pulumi.full.yaml"])
def test_same_answers_on_our_own_plans(servicer, stack_file, monkeypatch):
    stack = StackFile.read(ROOT / stack_file)
    resources = run_program(stack).resources
    config = PACK_DIR / f"config.{stack.config.get('snowplow:environment', 'dev')}.json"
    monkeypatch.setenv("PULUMI_PROJECT", PROJECT)
    monkeypatch.setenv("PULUMI_STACK", STACK)
    monkeypatch.setenv("PULUMI_DRY_RUN", "true")
    stock, quick = _both_ways(servicer, resources, config)
    assert quick == stock


def test_the_pack_process_answers_the_same_on_either_servicer(monkeypatch):
    """End to end over gRPC, as the CLI drives it: the env switch reaches the pack process."""
    stack = StackFile.read(ROOT / "Pulumi.dev.yaml")
    resources = run_program(stack).resources
    config = PACK_DIR / "config.dev.json"
    reports = {}
    for label, switch in (("stock", "1"), ("fast", None)):
        if switch:
            monkeypatch.setenv(fast.STOCK_SWITCH, switch)
        else:
            monkeypatch.delenv(fast.STOCK_SWITCH, raising=False)
        with PolicyPackProcess(Path(PACK_DIR), stack=STACK, project=PROJECT) as pack:
            reports[label] = pack.run(resources, config)
    assert reports["fast"] == reports["stock"]
    assert reports["stock"]["violations"]  # dev's advisories: the comparison is not between two empty reports

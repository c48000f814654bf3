"""The single-conversion servicer answers exactly as the stock one on every path a policy can take: async validate,
not applicable, unknown values, disabled and remediate levels, remediation-only policies, resource-type skips, the
stack's parents and dependencies, the runtime settings a policy reads, and every kind of property value."""

import sys

import pulumi
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from offline.policy import _analyze_request, _stack_resource
from tests.policy_helpers import PACK_DIR, UNKNOWN_STRING, resource

if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

import snowplow_fast_analyzer as fast  # noqa: E402
from pulumi_policy.policy import _PolicyAnalyzerServicer  # noqa: E402

BUCKET = "aws:s3/bucket:Bucket"
TOPIC = "aws:sns/topic:Topic"


def _plain(value):
    """A proxy's content as plain data, for a report a test can compare."""
    if hasattr(value, "keys"):
        return {k: _plain(value[k]) for k in sorted(value.keys())}
    if hasattr(value, "__len__") and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


async def _async_validate(args, report):
    if args.resource_type == TOPIC:  # the bucket has an unknown value: an async raise leaves the SDK's loop open
        report(f"async saw {args.name}: {_plain(args.props)}")


def _typed_validate(args, report):
    if args.resource_type == BUCKET:
        report(f"bucket {args.name} has tags {_plain(args.props['tags'])}")


def _typed_policy():
    policy = ResourceValidationPolicy("typed", "reports buckets only", _typed_validate)
    policy.resource_types = frozenset({BUCKET})  # as snowplow_policy_util.resource_policy sets it
    return policy


def _stack_validate(args, report):
    for r in args.resources:
        parent = r.parent.name if r.parent else None
        deps = sorted(d.name for d in r.dependencies)
        props = {k: sorted(d.name for d in v) for k, v in sorted(r.property_dependencies.items())}
        report(
            f"{r.name}: parent {parent}, deps {deps}, prop deps {props}, protect {r.opts.protect}, stack {pulumi.get_stack()}",
            r.urn,
        )


async def _async_stack_validate(args, report):
    report(f"{len(args.resources)} resources, config {dict(args.get_config() or {})}")


def _remediate(args):
    return None


POLICIES = [
    ResourceValidationPolicy("async", "async validate", _async_validate, EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(
        "not-applicable", "not applicable", lambda args, report: args.not_applicable(f"not for {args.name}")
    ),
    ResourceValidationPolicy("unknown", "reads an unknown value", lambda args, report: report(args.props["arn"])),
    ResourceValidationPolicy("off", "disabled", lambda args, report: report("off ran"), EnforcementLevel.DISABLED),
    ResourceValidationPolicy(
        "remediated", "remediate level", lambda args, report: report("still wrong"), EnforcementLevel.REMEDIATE
    ),
    ResourceValidationPolicy("remediation-only", "no validate", remediate=_remediate),
    _typed_policy(),
    StackValidationPolicy("stack", "links", _stack_validate, EnforcementLevel.ADVISORY),
    StackValidationPolicy("stack-async", "async stack", _async_stack_validate, EnforcementLevel.REMEDIATE),
    StackValidationPolicy("stack-off", "disabled", lambda args, report: report("x"), EnforcementLevel.DISABLED),
    StackValidationPolicy(
        "stack-unknown",
        "unknown",
        lambda args, report: report(args.resources[0].props["arn"]),
        EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy("stack-not-applicable", "n/a", lambda args, report: args.not_applicable()),
]

PARENT = resource(BUCKET, "logs", {"bucket": "logs", "tags": {"a": "1"}, "arn": UNKNOWN_STRING}, protect=True)
CHILD = resource(
    TOPIC,
    "alerts",
    {
        "name": "alerts",
        "count": 3,
        "ratio": 0.5,
        "on": True,
        "nothing": None,
        "list": [1, "two", [False], {"deep": None}],
        "map": {"inner": {"x": "y"}},
        "arn": "arn:aws:sns:eu-west-1:1:alerts",
    },
    parent=PARENT["urn"],
    deps=[PARENT, "urn:pulumi:test::snowplow::aws:s3/bucket:Bucket::elsewhere"],
    prop_deps={"name": [PARENT], "other": ["urn:pulumi:test::snowplow::aws:s3/bucket:Bucket::elsewhere"]},
)
RESOURCES = [PARENT, CHILD]


@pytest.fixture
def servicer(monkeypatch):
    monkeypatch.delenv(fast.STOCK_SWITCH, raising=False)
    for key, value in (("PULUMI_PROJECT", "snowplow"), ("PULUMI_STACK", "first"), ("PULUMI_DRY_RUN", "true")):
        monkeypatch.setenv(key, value)
    servicer = _PolicyAnalyzerServicer("toy", "1.2.3", POLICIES, EnforcementLevel.ADVISORY)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    request.policyConfig["stack-async"].CopyFrom(
        analyzer_pb2.PolicyConfig(
            enforcementLevel=analyzer_pb2.REMEDIATE, properties=json_format.ParseDict({"limit": 2}, struct_pb2.Struct())
        )
    )
    servicer.Configure(request, None)
    yield servicer
    fast.uninstall()


def _answers(servicer) -> list[dict]:
    by_urn = {r["urn"]: r for r in RESOURCES}
    answers = [servicer.Analyze(_analyze_request(r, by_urn), None) for r in RESOURCES]
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(r, by_urn) for r in RESOURCES])
    answers.append(servicer.AnalyzeStack(stack, None))
    return [json_format.MessageToDict(a) for a in answers]


def _both_ways(servicer) -> tuple[list, list]:
    fast.uninstall()
    stock = _answers(servicer)
    assert fast.install("1.21.0")
    return stock, _answers(servicer)


def _messages(answer: dict) -> dict:
    return {
        d["policyName"]: (d["message"].splitlines()[-1], d.get("enforcementLevel", "ADVISORY"))
        for d in answer.get("diagnostics", [])
    }


def test_every_policy_path_answers_as_the_stock_servicer(servicer):
    stock, quick = _both_ways(servicer)
    assert quick == stock
    bucket, topic, stack = (_messages(a) for a in quick)
    # what the comparison covered: each path gave its answer, not an empty one
    assert topic["async"][0].startswith("async saw alerts: {'arn': 'arn:aws:sns:eu-west-1:1:alerts', 'count': 3.0")
    assert "'list': [1.0, 'two', [False], {'deep': None}]" in topic["async"][0]
    assert bucket["unknown"] == (
        "can't run policy 'unknown' from policy pack 'toy@v1.2.3' during preview: "
        "string value at .arn can't be known during preview",
        "ADVISORY",
    )
    assert topic["unknown"] == ("arn:aws:sns:eu-west-1:1:alerts", "ADVISORY")
    assert topic["remediated"] == ("still wrong", "MANDATORY")
    assert "off" not in topic and "stack-off" not in stack
    assert bucket["typed"][0] == "bucket logs has tags {'a': '1'}" and "typed" not in topic
    not_applicable = {n["policyName"]: n.get("reason", "") for n in quick[1]["notApplicable"]}
    assert not_applicable == {
        "not-applicable": "not for alerts",
        "remediation-only": "Policy does not implement validate",
    }
    assert [n["policyName"] for n in quick[2]["notApplicable"]] == ["stack-not-applicable"]
    links = [d["message"].splitlines()[-1] for d in quick[2]["diagnostics"] if d["policyName"] == "stack"]
    assert links == [
        "logs: parent None, deps [], prop deps {}, protect True, stack first",
        "alerts: parent logs, deps ['logs'], prop deps {'name': ['logs'], 'other': []}, protect False, stack first",
    ]
    assert stack["stack-async"] == ("2 resources, config {'limit': 2.0}", "MANDATORY")
    assert stack["stack-unknown"][1] == "ADVISORY" and "string value at .arn" in stack["stack-unknown"][0]


def test_a_changed_stack_name_reaches_the_policies_and_an_unchanged_one_is_not_configured_again(servicer, monkeypatch):
    assert fast.install("1.21.0")
    by_urn = {r["urn"]: r for r in RESOURCES}
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[_stack_resource(r, by_urn) for r in RESOURCES])

    def stack_names():
        answer = json_format.MessageToDict(servicer.AnalyzeStack(stack, None))
        return {d["message"].rsplit(" ", 1)[1] for d in answer["diagnostics"] if d["policyName"] == "stack"}

    assert stack_names() == {"first"}
    monkeypatch.setenv("PULUMI_STACK", "second")
    assert stack_names() == {"second"}
    calls = []
    monkeypatch.setitem(fast._STOCK_METHODS, "_configure_runtime_settings", lambda self: calls.append(self))
    stack_names()
    servicer.Analyze(_analyze_request(CHILD, by_urn), None)
    assert calls == []  # the environment is unchanged: the settings are not read again
    monkeypatch.setenv("PULUMI_ORGANIZATION", "other-org")
    stack_names()
    assert calls == [servicer]


def test_installed_by_default_for_the_installed_version_unless_the_switch_is_exactly_1(monkeypatch):
    try:
        monkeypatch.setenv(fast.STOCK_SWITCH, "0")
        assert fast.install() is True
        assert _PolicyAnalyzerServicer._configure_runtime_settings is fast.configure_runtime_settings
    finally:
        fast.uninstall()
    assert _PolicyAnalyzerServicer.Analyze is fast._STOCK_METHODS["Analyze"]


@pytest.mark.parametrize(
    "value",
    [
        {"s": "text", "n": 2, "f": 0.25, "b": False, "z": None, "l": [1, [2, {"k": [None, True]}], "x"], "m": {}},
        {},
        {"empty": [], "nested": {"a": {"b": {"c": -1.5}}}},
    ],
)
def test_struct_conversion_is_the_stock_one(value):
    message = json_format.ParseDict(value, struct_pb2.Struct())
    assert fast.struct_to_dict(message) == json_format.MessageToDict(message) == value


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
def test_a_number_json_cannot_hold_fails_as_the_stock_conversion_does(number):
    message = struct_pb2.Struct()
    message.fields["n"].number_value = number
    with pytest.raises(ValueError) as stock_error:
        json_format.MessageToDict(message)
    with pytest.raises(ValueError) as fast_error:
        fast.struct_to_dict(message)
    assert str(fast_error.value) == str(stock_error.value)

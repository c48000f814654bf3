"""Analyze each resource once instead of once per policy.

pulumi-policy 1.21.0 converts a resource's properties (protobuf -> dict -> unknown-checking proxy), its options
and its provider again for every policy it runs: 60 conversions of each resource for this pack, and in
AnalyzeStack the whole stack once per stack policy. It also re-reads the runtime settings on every call. These
replacements do the same work once per request and hand every policy the same view, and skip a policy of
this pack for a resource type its `validate` would return from at once (`resource_types`, set by
snowplow_policy_util.resource_policy); what the policies see, report and are skipped for is unchanged (tests
run the pack both ways and compare the reports).

They rely on the servicer's internals, so they are installed only for the pulumi-policy versions they were
checked against; any other version, or SNOWPLOW_POLICY_STOCK=1, keeps the stock servicer.
"""

from __future__ import annotations

import asyncio
import math
import os
from importlib import metadata
from inspect import isawaitable
from typing import Any

from google.protobuf import json_format
from pulumi_policy import policy as stock
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

CHECKED_VERSIONS = frozenset({"1.21.0"})
STOCK_SWITCH = "SNOWPLOW_POLICY_STOCK"
_SERVICER = stock._PolicyAnalyzerServicer
_STOCK_METHODS = {name: getattr(_SERVICER, name) for name in ("Analyze", "AnalyzeStack", "_configure_runtime_settings")}


def _private(servicer: Any, name: str) -> Any:
    return getattr(servicer, f"_PolicyAnalyzerServicer__{name}")


def _run(policy: Any, args: Any, report_violation: Any) -> None:
    result = policy.validate(args, report_violation)
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(asyncio.Task(result, loop=loop))
        loop.close()


def _unknown_diagnostic(servicer: Any, policy: Any, error: UnknownValueError) -> Any:
    name, version = _private(servicer, "policy_pack_name"), _private(servicer, "policy_pack_version")
    return stock.proto.AnalyzeDiagnostic(
        policyName=policy.name,
        policyPackName=name,
        policyPackVersion=version,
        message=(
            f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during preview: {error.message}"
        ),
        urn="",
        description=policy.description,
        enforcementLevel=servicer._map_enforcement_level(stock.EnforcementLevel.ADVISORY),
    )


def _guarded(servicer: Any, response: Any, policy: Any, args: Any, report_violation: Any) -> None:
    try:
        _run(policy, args, report_violation)
    except UnknownValueError as error:
        response.diagnostics.append(_unknown_diagnostic(servicer, policy, error))
    except stock._NotApplicableError as error:
        response.not_applicable.append(
            stock.proto.PolicyNotApplicable(policy_name=policy.name, reason=error.reason or "")
        )


def struct_to_dict(struct: Any) -> dict:
    """`json_format.MessageToDict` of a `google.protobuf.Struct`, without its generic descriptor walk."""
    return {key: _value(value) for key, value in struct.fields.items()}


def _value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            return json_format.MessageToDict(value)  # raises ValueError exactly as the stock conversion does
        return number
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    return None  # null_value, or no kind set


def _properties(message: Any) -> Any:
    return unknown_checking_proxy(deserialize_properties(struct_to_dict(message)))


def analyze(self: Any, request: Any, _context: Any) -> Any:
    """Stock `Analyze`, converting the resource once for all policies."""
    self._configure_runtime_settings()
    response = stock.proto.AnalyzeResponse()
    converted = None
    for policy in _private(self, "policies"):
        level = self._get_enforcement_level(policy)
        if level == stock.EnforcementLevel.DISABLED or not isinstance(policy, stock.ResourceValidationPolicy):
            continue
        if not policy.has_validation():
            response.not_applicable.append(
                stock.proto.PolicyNotApplicable(policy_name=policy.name, reason="Policy does not implement validate")
            )
            continue
        types = getattr(policy, "resource_types", None)
        if types is not None and request.type not in types:
            continue  # its validate returns at once for other types: nothing to report, nothing read
        if level == stock.EnforcementLevel.REMEDIATE:
            level = stock.EnforcementLevel.MANDATORY
        report_violation = self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        if converted is None:
            converted = (
                _properties(request.properties),
                self._get_resource_options(request),
                self._get_provider_resource(request),
            )
        props, opts, provider = converted
        args = stock.ResourceValidationArgs(
            request.type,
            props,
            request.urn,
            request.name,
            opts,
            provider,
            self._get_policy_config(policy.name),
            _private(self, "stack_tags"),
        )
        _guarded(self, response, policy, args, report_violation)
    return response


def _stack_resources(self: Any, request: Any) -> list[Any]:
    """The stack's resources as PolicyResources linked to their parents and dependencies (stock logic)."""
    linked = []
    for r in request.resources:
        resource = stock.PolicyResource(
            r.type,
            _properties(r.properties),
            r.urn,
            r.name,
            self._get_resource_options(r),
            self._get_provider_resource(r),
            None,
            [],
            {},
        )
        linked.append(
            (resource, r.parent, list(r.dependencies), {k: list(v.urns) for k, v in r.propertyDependencies.items()})
        )
    by_urn = {resource.urn: resource for resource, *_ in linked}
    for resource, parent, dependencies, property_dependencies in linked:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
        for key, urns in property_dependencies.items():
            resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [resource for resource, *_ in linked]


def analyze_stack(self: Any, request: Any, _context: Any) -> Any:
    """Stock `AnalyzeStack`, converting the stack once for all stack policies."""
    self._configure_runtime_settings()
    response = stock.proto.AnalyzeResponse()
    resources = None
    for policy in _private(self, "policies"):
        level = self._get_enforcement_level(policy)
        if level == stock.EnforcementLevel.DISABLED or not isinstance(policy, stock.StackValidationPolicy):
            continue
        if level == stock.EnforcementLevel.REMEDIATE:
            level = stock.EnforcementLevel.MANDATORY
        report_violation = self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        if resources is None:
            resources = _stack_resources(self, request)
        args = stock.StackValidationArgs(
            list(resources), self._get_policy_config(policy.name), _private(self, "stack_tags")
        )
        _guarded(self, response, policy, args, report_violation)
    return response


_SETTINGS_KEYS = ("PULUMI_CONFIG", "PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION")


def configure_runtime_settings(self: Any) -> None:
    """Stock `_configure_runtime_settings`, skipped while the environment it reads is unchanged."""
    key = tuple(os.environ.get(k) for k in _SETTINGS_KEYS)
    if getattr(self, "_snowplow_settings_key", None) == key:
        return
    _STOCK_METHODS["_configure_runtime_settings"](self)
    self._snowplow_settings_key = key


def install(version: str | None = None) -> bool:
    """Use the single-conversion servicer when pulumi-policy is a checked version; True when installed."""
    version = version or metadata.version("pulumi-policy")
    if os.environ.get(STOCK_SWITCH) == "1" or version not in CHECKED_VERSIONS:
        uninstall()
        return False
    _SERVICER.Analyze = analyze
    _SERVICER.AnalyzeStack = analyze_stack
    _SERVICER._configure_runtime_settings = configure_runtime_settings
    return True


def uninstall() -> None:
    for name, method in _STOCK_METHODS.items():
        setattr(_SERVICER, name, method)

"""Snowplow CrossGuard policy pack: assembles the rules; PolicyPack() serves gRPC and never returns."""

import snowplow_fast_analyzer
import snowplow_rules
from pulumi_policy import EnforcementLevel, PolicyPack

snowplow_fast_analyzer.install()  # same verdicts, each resource converted once (stock path on other versions)
PolicyPack(
    name="snowplow-guardrails",
    description="Security, sizing, data-protection, tagging and monitoring guard rails for the Snowplow pipeline on AWS.",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=snowplow_rules.POLICIES,
)

"""Snowplow CrossGuard policy pack: assembles the rules; PolicyPack() serves gRPC and never returns."""

import snowplow_data_protection
import snowplow_encryption
import snowplow_fast_analyzer
import snowplow_iam
import snowplow_network
import snowplow_observability
import snowplow_sizing
import snowplow_tagging
from pulumi_policy import EnforcementLevel, PolicyPack

snowplow_fast_analyzer.install()  # same verdicts, each resource converted once (stock path on other versions)
PolicyPack(
    name="snowplow-guardrails",
    description="Security, sizing, data-protection, tagging and monitoring guard rails for the Snowplow pipeline on AWS.",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[
        *snowplow_encryption.POLICIES,
        *snowplow_network.POLICIES,
        *snowplow_iam.POLICIES,
        *snowplow_sizing.POLICIES,
        *snowplow_data_protection.POLICIES,
        *snowplow_tagging.POLICIES,
        *snowplow_observability.POLICIES,
    ],
)

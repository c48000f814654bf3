"""Typed model of `snowplow:observability`: who is told when an alarm fires, and the alarms' thresholds."""

import re
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from stack_config.base import ConfigModel, environment_default

# SNS accepts any address; this catches typos (no @, spaces, no dot in the domain) before a subscription waits
# forever for a confirmation nobody receives.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+", re.ASCII)
_HTTPS = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?", re.ASCII)


def _email(value: str) -> str:
    if _EMAIL.fullmatch(value) is None:
        raise ValueError("must be an email address such as oncall@example.com")
    return value


def _https(value: str) -> str:
    if _HTTPS.fullmatch(value) is None:
        raise ValueError(
            "must be an https:// URL such as https://events.pagerduty.com/integration/<key>/enqueue "
            "(SNS sends alarms in clear over http://, so plain HTTP is not accepted)"
        )
    return value


def _unique(values: list[str]) -> list[str]:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise ValueError(f"lists {seen[0]!r} twice")
    return values


Email = Annotated[str, AfterValidator(_email)]
HttpsUrl = Annotated[str, AfterValidator(_https)]

# threshold -> (dev default, prod default)
THRESHOLD_DEFAULTS = {
    "iterator_age_retention_percent": (25, 25),
    "bad_rows_per5_minutes": (1000, 100),
    "collector5xx_percent": (5.0, 1.0),
    "collector_p99_latency_seconds": (2.0, 1.0),
    "lake_freshness_minutes": (120, 30),
}


def _env_default(name: str):
    def pick(cls, value, info: ValidationInfo):
        dev, prod = THRESHOLD_DEFAULTS[name]
        return value if value is not None else environment_default(info, dev=dev, prod=prod)

    return field_validator(name, mode="after")(classmethod(pick))


class AlarmThresholds(ConfigModel):
    """When each alarm fires; every value has a dev and a prod default (THRESHOLD_DEFAULTS)."""

    iterator_age_retention_percent: int | None = Field(None, ge=1, le=50, validate_default=True)
    """A consumer's input stream iterator age, as a percentage of the stream's retention: past it the consumer
    is that far behind, and at 100% events are dropped unread."""
    bad_rows_per5_minutes: int | None = Field(None, ge=1, validate_default=True)
    """Failed events arriving on bad-1 in five minutes (bad-2 alarms on any record: it has no consumer)."""
    collector5xx_percent: float | None = Field(None, gt=0, le=100, validate_default=True)
    """Share of collector requests answered 5xx by the load balancer or the collector, over five minutes."""
    collector_p99_latency_seconds: float | None = Field(None, gt=0, le=60, validate_default=True)
    """99th percentile of the collector's response time, over five minutes."""
    lake_freshness_minutes: int | None = Field(None, ge=10, le=1440, validate_default=True)
    """No new object under the lake's `enriched/` prefix for this long (a multiple of 5 minutes)."""

    _iterator = _env_default("iterator_age_retention_percent")
    _bad = _env_default("bad_rows_per5_minutes")
    _errors = _env_default("collector5xx_percent")
    _latency = _env_default("collector_p99_latency_seconds")
    _freshness = _env_default("lake_freshness_minutes")

    @field_validator("lake_freshness_minutes")
    @classmethod
    def _whole_periods(cls, value):
        if value is not None and value % 5:
            raise ValueError("must be a multiple of 5 (the alarm counts new objects in 5-minute periods)")
        return value


class ObservabilityConfig(ConfigModel):
    """Alarms always exist and publish to the stack's SNS topic; these subscribe people and tools to it."""

    alarm_emails: Annotated[list[Email], AfterValidator(_unique)] = []
    alarm_https_endpoints: Annotated[list[HttpsUrl], AfterValidator(_unique)] = []
    thresholds: AlarmThresholds = Field(default={}, validate_default=True)


def observability_problems(config) -> list[str]:
    """Rules between `observability` and the rest of the stack; each names both keys."""
    problems = []
    freshness = config.observability.thresholds.lake_freshness_minutes
    delay = config.loaders.enriched.batching.max_delay_seconds
    if freshness * 60 < 2 * delay:
        problems.append(
            f"snowplow:observability.thresholds.lakeFreshnessMinutes: {freshness} minutes is less than twice "
            f"snowplow:loaders.enriched.batching.maxDelaySeconds ({delay}s), so a loader that is working but "
            "waiting for its batch would raise the alarm: raise the threshold or shorten the batching delay"
        )
    return problems

"""Typed model of `snowplow:analysis` (Athena over the lake) and `snowplow:modeling` (scheduled dbt runs)."""

import re
import zoneinfo
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from stack_config.base import ConfigModel, matching
from stack_config.warehouses import SnowflakeIdentifier, UnityCatalogName


class AnalysisConfig(ConfigModel):
    """Athena over the lake: a Glue table over the enriched TSV and one over the failed events, a workgroup whose
    results are encrypted with the stack key, and named first queries.

    On by default: the catalog entries, workgroup and named queries cost nothing while unused (Glue's first million
    catalog objects are free, with partition projection no crawler runs); Athena bills only the bytes a query scans.
    """

    enabled: bool = True
    bytes_scanned_cutoff_gb: int = Field(100, ge=1, le=1_000_000)
    """A query that would scan more is cancelled (Athena bills about 5 USD per TB scanned)."""
    results_expiration_days: int = Field(30, ge=1, le=3650)


# EventBridge Scheduler's recurring expressions: cron(minutes hours day-of-month month day-of-week year) and
# rate(value unit); one-time at(...) schedules are not recurring and are refused.
_CRON = re.compile(r"cron\(([^()]+)\)", re.ASCII)
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?,/#L W-]+", re.ASCII)
_RATE = re.compile(r"rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)", re.ASCII)
SCHEDULE_HELP = (
    "must be an EventBridge Scheduler expression: cron(minutes hours day-of-month month day-of-week year) with '?' "
    "in day-of-month or day-of-week, e.g. cron(15 3 * * ? *), or rate(value unit) with unit minute(s), hour(s) or "
    "day(s), singular only for 1, e.g. rate(6 hours)"
)

# modeling.package -> the dbt project's folder under modeling/ (and in the task's archive).
PACKAGES = {"own": "dbt", "snowplow_unified": "unified"}

# Fargate task sizes: cpu units -> accepted memory (MiB).
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def schedule_problem(expression: str) -> str | None:
    """Why `expression` is not a recurring EventBridge Scheduler expression, or None."""
    if rate := _RATE.fullmatch(expression):
        value, unit = int(rate[1]), rate[2]
        if (value == 1) != (not unit.endswith("s")):
            return f"{SCHEDULE_HELP} ('{value} {unit}' needs the {'singular' if value == 1 else 'plural'} unit)"
        return None
    cron = _CRON.fullmatch(expression)
    if cron is None:
        return SCHEDULE_HELP
    fields = cron[1].split(" ")
    if len(fields) != 6 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        return f"{SCHEDULE_HELP} (a cron expression has 6 space-separated fields)"
    if "?" not in (fields[2], fields[4]) or fields[2] == fields[4] == "?":
        return f"{SCHEDULE_HELP} (exactly one of day-of-month and day-of-week must be '?')"
    return None


DatabricksHttpPath = Annotated[
    str,
    matching(
        r"/?sql/(1\.0/(warehouses|endpoints)/[0-9a-f]{8,32}|protocolv1/o/[0-9]+/[0-9a-z-]+)",
        "must be the HTTP path of a Databricks SQL warehouse, /sql/1.0/warehouses/<id>, or of a cluster, "
        "sql/protocolv1/o/<workspace id>/<cluster id> (its Connection details)",
    ),
]


class ModelingConfig(ConfigModel):
    """dbt models run on a schedule as an ECS Fargate task in the warehouse the stack loads (see the README)."""

    enabled: bool = False
    schedule: str = "cron(15 3 * * ? *)"
    timezone: str = "UTC"
    package: str = "own"
    """`own`: this project's Apache-2.0 models (modeling/dbt); `snowplow_unified`: Snowplow's package
    (modeling/unified), under the Snowplow Personal & Academic License. Setting `snowplow_unified` is your statement
    that you hold a licence covering your use: the task then passes `snowplow__license_accepted: true` to dbt."""
    warehouse: str | None = None
    """Which enabled warehouse the models run in; needed only when more than one is enabled."""
    snowflake_warehouse: SnowflakeIdentifier | None = None
    """With the models in Snowflake: the virtual warehouse dbt's queries run on (the loader needs none)."""
    databricks_http_path: DatabricksHttpPath | None = None
    """With the models in Databricks: the HTTP path of the SQL warehouse (or cluster) dbt's queries run on."""
    databricks_events_table: UnityCatalogName = "events"
    """With the models in Databricks: the events table your pipeline fills, in the loader's catalog and schema."""
    cpu: Literal[256, 512, 1024, 2048, 4096, 8192, 16384] = 512
    memory: int = 1024

    @field_validator("package")
    @classmethod
    def _package(cls, value: str):
        if value not in PACKAGES:
            raise ValueError(
                "own (this repository's Apache-2.0 models) or snowplow_unified (Snowplow's package under the Snowplow "
                "Personal & Academic License; setting it states that you hold a licence covering your use, and the "
                "task accepts the package's licence for you with snowplow__license_accepted: true)"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str):
        if problem := schedule_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str):
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as UTC or Europe/Paris") from None
        return value

    @field_validator("memory")
    @classmethod
    def _fargate_size(cls, value: int, info: ValidationInfo):
        cpu = info.data.get("cpu")
        allowed = FARGATE_MEMORY.get(cpu)
        if allowed is not None and value not in allowed:
            accepted = (
                ", ".join(map(str, allowed))
                if len(allowed) <= 4
                else f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            )
            raise ValueError(f"Fargate accepts {accepted} MiB with cpu {cpu}")
        return value


# The warehouses the models can run in: name -> its stack-config key. One line per warehouse; a destination that
# adds one also adds its function in components/modeling/warehouses.py (connection) and its dbt adapter pin in
# components/apps/app_versions.DBT_ADAPTERS.
WAREHOUSE_KEYS = {
    "postgres": "destinations.postgres",
    "redshift": "destinations.redshift",
    "snowflake": "destinations.snowflake",
    "databricks": "destinations.databricks",
}


def enabled_warehouses(config) -> list[str]:
    """Names of the warehouses the stack loads, in WAREHOUSE_KEYS order."""
    return [name for name in WAREHOUSE_KEYS if getattr(config.destinations, name).enabled]


def modeling_warehouse(config) -> str | None:
    """The warehouse the models run in (None when modeling is off); `modeling_problems` has checked it."""
    modeling = config.modeling
    if not modeling.enabled:
        return None
    return modeling.warehouse or enabled_warehouses(config)[0]


def modeling_problems(config) -> list[str]:
    """Modeling needs exactly one warehouse to run in; each problem names the key to change."""
    modeling = config.modeling
    if not modeling.enabled:
        return []
    problems = _warehouse_problems(config)
    if not problems and modeling_warehouse(config) == "snowflake" and modeling.snowflake_warehouse is None:
        problems.append(
            "snowplow:modeling.snowflakeWarehouse: the models run in Snowflake, where dbt's queries need a virtual "
            "warehouse the loader's role may use (GRANT USAGE ON WAREHOUSE ...); name it (got no value)"
        )
    if not problems and modeling_warehouse(config) == "databricks" and modeling.databricks_http_path is None:
        problems.append(
            "snowplow:modeling.databricksHttpPath: the models run in Databricks, where dbt's queries need a SQL "
            "warehouse: its HTTP path, /sql/1.0/warehouses/<id> (got no value)"
        )
    return problems


def _warehouse_problems(config) -> list[str]:
    modeling = config.modeling
    enabled = enabled_warehouses(config)
    keys = ", ".join(f"snowplow:{key}.enabled" for key in WAREHOUSE_KEYS.values())
    if modeling.warehouse is not None:
        if modeling.warehouse not in WAREHOUSE_KEYS:
            return [f"snowplow:modeling.warehouse: one of {', '.join(WAREHOUSE_KEYS)} (got {modeling.warehouse!r})"]
        if modeling.warehouse not in enabled:
            key = WAREHOUSE_KEYS[modeling.warehouse]
            return [
                f"snowplow:modeling.warehouse: the models run in {modeling.warehouse}, which this stack does not "
                f"load: set snowplow:{key}.enabled: true (got false)"
            ]
        return []
    if not enabled:
        return [
            f"snowplow:modeling.enabled: the models run on schedule {modeling.schedule} in a warehouse this stack "
            f"loads, and none is enabled: enable one of {keys} or set modeling.enabled: false (got true)"
        ]
    if len(enabled) > 1:
        return [
            f"snowplow:modeling.warehouse: {len(enabled)} warehouses are enabled ({', '.join(enabled)}); name the "
            "one the models run in (got no value)"
        ]
    return []


_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}


def schedule_interval_seconds(expression: str) -> int | None:
    """Longest time between two runs when it is evident from the expression: rate(...), or a cron expression that
    fires every day (any month, any day); None for other cron expressions (weekly, monthly...)."""
    if rate := _RATE.fullmatch(expression):
        return int(rate[1]) * _UNIT_SECONDS[rate[2].rstrip("s")]
    if cron := _CRON.fullmatch(expression):
        fields = cron[1].split(" ")
        if fields[2] in ("*", "?") and fields[3] == "*" and fields[4] in ("*", "?") and fields[5] == "*":
            return 86_400
    return None

"""Glue table definitions over the lake and the first Athena queries, as data (pure functions, no resources).

The enriched S3 loader writes `enriched/load_date=<yyyy-MM-dd>/<yyyy-MM-dd-HHmmss>-<uuid>.gz` (the date is the UTC
day the loader wrote the file, not the event's), gzip-compressed TSV, one event per line. Partition projection
maps `load_date` onto those prefixes, so no crawler or `MSCK REPAIR` is ever needed. The bad loader writes
self-describing JSON bad rows under `bad/<vendor>.<schema>/`; they are read as one JSON text column.
"""

from dataclasses import dataclass

from components.analysis.enriched_format import athena_columns
from components.apps.consumer_configs import ENRICHED_PARTITION_COLUMN

ENRICHED_PREFIX = "enriched"
BAD_PREFIX = "bad"
PARTITION_COLUMN = ENRICHED_PARTITION_COLUMN
# The layout with load_date prefixes started with this project in 2026: projection enumerates days from here.
FIRST_LOAD_DATE = "2026-01-01"
EVENTS_TABLE = "events"
BAD_ROWS_TABLE = "bad_rows"

TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


@dataclass(frozen=True)
class TableSpec:
    """What a Glue table says about files in the lake: where, how to split a line, the columns and partitions."""

    name: str
    description: str
    prefix: str
    """Where the files are, under the lake bucket."""
    columns: list[tuple[str, str]]
    serde_parameters: dict[str, str]
    parameters: dict[str, str]
    partition_keys: list[tuple[str, str]]
    partition_template: str | None = None
    """Partition projection's path of one partition, under `prefix`."""

    def location(self, bucket: str) -> str:
        return f"s3://{bucket}/{self.prefix}"

    def table_parameters(self, bucket: str) -> dict[str, str]:
        """The table's parameters, with the projection's location template in `bucket` when it is partitioned."""
        if self.partition_template is None:
            return dict(self.parameters)
        return {**self.parameters, "storage.location.template": self.location(bucket) + self.partition_template}


def database_name(prefix: str) -> str:
    """Glue/Athena database names are lowercase letters, digits and underscores."""
    return prefix.replace("-", "_") + "_lake"


def enriched_table() -> TableSpec:
    return TableSpec(
        name=EVENTS_TABLE,
        description="Enriched events as the S3 loader writes them (TSV, 131 fields), partitioned by load date (UTC)",
        prefix=f"{ENRICHED_PREFIX}/",
        columns=athena_columns(),
        # Empty fields are NULL (the TSV leaves absent values empty); tab-separated, no escaping in the format.
        serde_parameters={"field.delim": "\t", "serialization.format": "\t", "serialization.null.format": ""},
        parameters={
            "EXTERNAL": "TRUE",
            "classification": "csv",
            "compressionType": "gzip",
            "projection.enabled": "true",
            f"projection.{PARTITION_COLUMN}.type": "date",
            f"projection.{PARTITION_COLUMN}.format": "yyyy-MM-dd",
            f"projection.{PARTITION_COLUMN}.range": f"{FIRST_LOAD_DATE},NOW",
            f"projection.{PARTITION_COLUMN}.interval": "1",
            f"projection.{PARTITION_COLUMN}.interval.unit": "DAYS",
        },
        partition_keys=[(PARTITION_COLUMN, "string")],
        partition_template=f"{PARTITION_COLUMN}=${{{PARTITION_COLUMN}}}/",
    )


def bad_rows_table() -> TableSpec:
    return TableSpec(
        name=BAD_ROWS_TABLE,
        description="Failed events (self-describing JSON bad rows), one JSON document per line in `line`",
        prefix=f"{BAD_PREFIX}/",
        columns=[("line", "string")],
        # One column per line: \u0001 never occurs unescaped in JSON text, so nothing splits a bad row.
        serde_parameters={"field.delim": "\u0001", "serialization.format": "\u0001"},
        parameters={"EXTERNAL": "TRUE", "classification": "json", "compressionType": "gzip"},
        partition_keys=[],
    )


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str


def _recent(days: int) -> str:
    """Partitions loaded in the last `days` days (plus today): the filter that keeps a query's scan small."""
    return f"{PARTITION_COLUMN} >= CAST(current_date - INTERVAL '{days}' DAY AS varchar)"


def named_queries(database: str, days: int = 7) -> list[NamedQuery]:
    events = f'"{database}"."{EVENTS_TABLE}"'
    bad = f'"{database}"."{BAD_ROWS_TABLE}"'
    return [
        NamedQuery(
            "events-per-day-by-type",
            f"Events per day (collector time, UTC) by event name, last {days} days",
            f"SELECT date(collector_tstamp) AS day, event_vendor, event_name, count(*) AS events\n"
            f"FROM {events}\n"
            f"WHERE {_recent(days)}\n"
            "GROUP BY 1, 2, 3\n"
            "ORDER BY day DESC, events DESC",
        ),
        NamedQuery(
            "top-pages",
            f"Most viewed pages and their distinct visitors, last {days} days",
            "SELECT page_urlhost, page_urlpath, count(*) AS page_views, count(DISTINCT domain_userid) AS visitors\n"
            f"FROM {events}\n"
            f"WHERE {_recent(days)} AND event_name = 'page_view'\n"
            "GROUP BY 1, 2\n"
            "ORDER BY page_views DESC\n"
            "LIMIT 100",
        ),
        NamedQuery(
            "sessions-per-day",
            f"Sessions (domain_sessionid) per day of their first event, and their users, last {days} days",
            "SELECT date(first_event) AS day, count(*) AS sessions, count(DISTINCT domain_userid) AS users,\n"
            "       avg(events) AS events_per_session\n"
            "FROM (\n"
            "  SELECT domain_sessionid, min(collector_tstamp) AS first_event, arbitrary(domain_userid) AS domain_userid,\n"
            "         count(*) AS events\n"
            f"  FROM {events}\n"
            f"  WHERE {_recent(days)} AND domain_sessionid IS NOT NULL\n"
            "  GROUP BY domain_sessionid\n"
            ")\n"
            "GROUP BY 1\n"
            "ORDER BY day DESC",
        ),
        NamedQuery(
            "bad-rows-per-schema",
            "Failed events by bad-row schema (what went wrong) and, for schema violations, the failing schema",
            "SELECT json_extract_scalar(line, '$.schema') AS bad_row_schema,\n"
            "       json_extract_scalar(line, '$.data.failure.messages[0].schemaKey') AS failing_schema,\n"
            "       count(*) AS bad_rows\n"
            f"FROM {bad}\n"
            "GROUP BY 1, 2\n"
            "ORDER BY bad_rows DESC",
        ),
    ]

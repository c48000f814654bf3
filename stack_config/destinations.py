"""Typed model of `snowplow:destinations`: optional stores loaded from the enriched stream."""

from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from stack_config.apps import ConsumerConfig
from stack_config.base import ConfigModel, environment_default
from stack_config.database import DatabaseInstance
from stack_config.opensearch import OpenSearchDestination, indicative_problem
from stack_config.redshift import RedshiftDestination, redshift_problems
from stack_config.sizes import PostgresLoaderSize
from stack_config.warehouses import DatabricksDestination, SnowflakeDestination


class PostgresInstance(DatabaseInstance):
    classes: ClassVar[tuple[str, str]] = ("db.t4g.micro", "db.t4g.medium")


class PostgresDestination(ConsumerConfig):
    """The Snowplow Postgres Loader: enriched events into PostgreSQL (Snowplow rates it development and testing grade).

    `database: own` creates a dedicated RDS instance sized by `instance`; `shared` puts the events database on
    the Iglu Server's instance (cheaper, but events and the registry then compete for one database server).
    """

    input_stream: ClassVar[str] = "enriched"

    enabled: bool = False
    database: Literal["own", "shared"] | None = Field(None, validate_default=True)
    instance: PostgresInstance = Field(default={}, validate_default=True)
    size: PostgresLoaderSize = Field(default={}, validate_default=True)
    max_records: int = Field(10_000, ge=1, le=10_000)
    max_connections: int = Field(10, ge=1, le=100)

    @field_validator("database")
    @classmethod
    def _database_default(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, dev="shared", prod="own")

    @model_validator(mode="after")
    def _instance_only_when_own(self):
        if self.database == "shared" and "instance" in self.model_fields_set:
            raise ValueError(
                "instance only applies to database: own; with database: shared the events database lives on the "
                "Iglu Server's instance, sized by snowplow:iglu.server.database"
            )
        return self


class DestinationsConfig(ConfigModel):
    postgres: PostgresDestination = Field(default={}, validate_default=True)
    redshift: RedshiftDestination = Field(default={}, validate_default=True)
    snowflake: SnowflakeDestination = Field(default={}, validate_default=True)
    databricks: DatabricksDestination = Field(default={}, validate_default=True)
    opensearch: OpenSearchDestination = Field(default={}, validate_default=True)
    indicative: object = None  # not offered: any value is reported by destination_problems


def destination_problems(config) -> list[str]:
    """Rules between `destinations` and the rest of the stack; each names both keys."""
    problems = redshift_problems(config) + opensearch_problems(config)
    postgres = config.destinations.postgres
    if not postgres.enabled:
        return problems
    if not config.iglu.server.enabled:
        problems.append(
            "snowplow:destinations.postgres.enabled: the Postgres loader looks up every schema in an Iglu Server "
            "(0.6+), never in Iglu Central or a static registry: set snowplow:iglu.server.enabled: true "
            "(got false)"
        )
    streams = config.streams
    if streams.mode == "PROVISIONED" and postgres.size.max_size > streams.shards.enriched:
        problems.append(
            f"snowplow:destinations.postgres.size.maxSize: {postgres.size.max_size} exceeds "
            f"snowplow:streams.shards.enriched ({streams.shards.enriched}); a Kinesis consumer never uses more "
            "instances than its input stream has shards: raise the shards or lower maxSize"
        )
    return problems


def opensearch_problems(config) -> list[str]:
    """`destinations.opensearch` against the streams and the network; `destinations.indicative` (never accepted)."""
    problems = [p for p in [indicative_problem(config.destinations.indicative)] if p]
    search = config.destinations.opensearch
    if not search.enabled:
        return problems
    key = "snowplow:destinations.opensearch"
    if config.streams.mode == "PROVISIONED":
        shards = config.streams.shards
        loaders = [("size", search.size, "enriched", shards.enriched)]
        if search.bad_rows.enabled:
            loaders.append(("badRows.size", search.bad_rows.size, "bad1", shards.bad1))
        for path, size, stream, count in loaders:
            if size.max_size > count:
                problems.append(
                    f"{key}.{path}.maxSize: {size.max_size} exceeds snowplow:streams.shards.{stream} ({count}); a "
                    "Kinesis consumer never uses more instances than its input stream has shards: raise the shards "
                    "or lower maxSize"
                )
    zones = search.domain.zone_awareness or 1
    network = config.network
    subnets = network.create.azs if network.create is not None else len(network.existing.private_subnet_ids)
    if zones > subnets:
        problems.append(
            f"{key}.domain.zoneAwareness: {zones} zones need as many private subnets, one per zone, and the "
            f"network has {subnets}: lower zoneAwareness or add subnets (got {zones})"
        )
    return problems

"""Instance sizes of the apps added by optional features, with their own per-environment defaults."""

from typing import ClassVar

from pydantic import model_validator

from stack_config.apps import ServiceSize

Defaults = tuple[str, int, int]  # instance type, min and max instances


class FeatureSize(ServiceSize):
    """A `ServiceSize` whose defaults are declared on the subclass: `dev` and `prod` (type, min, max).

    `app` names its row in stack_config.capacity.THROUGHPUT when its min/max follow `snowplow:traffic`; an app
    without a row keeps the declared min and max.
    """

    app: ClassVar[str] = ""
    dev: ClassVar[Defaults]
    prod: ClassVar[Defaults]

    @classmethod
    def environment_defaults(cls) -> tuple[Defaults, Defaults]:
        return cls.dev, cls.prod


class IgluServerSize(FeatureSize):
    dev = ("t3a.micro", 1, 1)
    prod = ("t3a.small", 2, 2)


class PostgresLoaderSize(FeatureSize):
    app: ClassVar[str] = "postgresLoader"
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.medium", 1, 1)


class SingleInstanceSize(FeatureSize):
    """An app that runs as exactly one instance: only its instance type may change."""

    why_single: ClassVar[str]

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.min_size, self.max_size) != (1, 1):
            raise ValueError(
                f"minSize and maxSize must be 1 (got {self.min_size} and {self.max_size}): {self.why_single}"
            )
        return self


class RedshiftTransformerSize(SingleInstanceSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.large", 1, 1)
    why_single = (
        "Snowplow runs one RDB transformer per queue; a second one would write and announce the same time windows again"
    )


class RedshiftLoaderSize(SingleInstanceSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.small", 1, 1)
    why_single = "Snowplow runs one RDB loader per warehouse; it loads one batch at a time from the FIFO queue"


class ElasticsearchLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.medium", 1, 2)


class ElasticsearchBadRowsLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.small", 1, 1)  # bad-1 has one shard unless streams.shards.bad1 says otherwise

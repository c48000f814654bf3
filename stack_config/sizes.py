"""Instance sizes of the apps added by optional features, with their own per-environment defaults."""

from typing import ClassVar

from stack_config.apps import ServiceSize

Defaults = tuple[str, int, int]  # instance type, min and max instances


class FeatureSize(ServiceSize):
    """A `ServiceSize` whose defaults are declared on the subclass: `dev` and `prod` (type, min, max)."""

    dev: ClassVar[Defaults]
    prod: ClassVar[Defaults]

    @classmethod
    def environment_defaults(cls) -> tuple[Defaults, Defaults]:
        return cls.dev, cls.prod


class IgluServerSize(FeatureSize):
    dev = ("t3a.micro", 1, 1)
    prod = ("t3a.small", 2, 2)


class PostgresLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.medium", 1, 1)


class ElasticsearchLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.medium", 1, 2)


class ElasticsearchBadRowsLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.small", 1, 1)  # bad-1 has one shard unless streams.shards.bad1 says otherwise

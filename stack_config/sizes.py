"""Instance sizes of the apps added by optional features, with their own per-environment defaults."""

from typing import ClassVar

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

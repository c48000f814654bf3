"""Instance sizes of the apps added by optional features, with their own per-environment defaults."""

import re
from typing import ClassVar

from pydantic import ValidationInfo, field_validator

from stack_config.apps import ServiceSize
from stack_config.base import environment_default

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")

Defaults = tuple[str, int, int]  # instance type, min and max instances


class FeatureSize(ServiceSize):
    """A `ServiceSize` whose defaults are declared on the subclass: `dev` and `prod` (type, min, max)."""

    dev: ClassVar[Defaults]
    prod: ClassVar[Defaults]

    @field_validator("instance_type", "min_size", "max_size")
    @classmethod
    def _defaults(cls, value, info: ValidationInfo):
        if value is not None:
            if info.field_name == "instance_type" and not _INSTANCE_TYPE.match(value):
                raise ValueError("must be an EC2 instance type such as t3a.small or c7g.large")
            return value
        index = ("instance_type", "min_size", "max_size").index(info.field_name)
        return environment_default(info, dev=cls.dev[index], prod=cls.prod[index])


class IgluServerSize(FeatureSize):
    dev = ("t3a.micro", 1, 1)
    prod = ("t3a.small", 2, 2)


class PostgresLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.medium", 1, 1)

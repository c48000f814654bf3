"""Shared pydantic base for every stack-config model."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    """Frozen, strict, camelCase-keyed model that rejects unknown keys."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
    )


def environment_default(info, dev, prod):
    """Pick the per-environment default from the validation context."""
    env = (info.context or {}).get("environment", "dev")
    return prod if env == "prod" else dev


PositiveInt = Annotated[int, Field(ge=1)]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]

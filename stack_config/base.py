"""Shared pydantic base for every stack-config model, and the one way keys are checked against a pattern."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
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


def matching(regex: str, message: str) -> AfterValidator:
    """Accept a string only if ALL of it matches `regex` (ASCII classes: `\\d` is 0-9, never another script's digit).

    The only pattern check in stack_config: `re.fullmatch` leaves no room for the trailing newline that
    `re.match(...$)` lets through, and the message says what is allowed rather than quoting the regex.
    """
    pattern = re.compile(regex, re.ASCII)

    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:
            raise ValueError(message)
        return value

    check.pattern = pattern  # lets tests find every pattern-checked key
    return AfterValidator(check)


def pattern_of(metadata: object) -> re.Pattern | None:
    """The regex of a `matching(...)` validator, else None."""
    return getattr(getattr(metadata, "func", None), "pattern", None)


PositiveInt = Annotated[int, Field(ge=1)]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]

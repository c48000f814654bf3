"""HOCON files are rendered as JSON, which every HOCON parser reads unchanged; an `EnvSubstitution` value
becomes an unquoted `${NAME}`, which the app's HOCON parser resolves from its environment when it starts."""

import json
import re
from dataclasses import dataclass
from typing import Any

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


@dataclass(frozen=True)
class EnvSubstitution:
    """A value only known on the instance, read from the container's environment variable `name`."""

    name: str

    def __post_init__(self):
        if not _ENV_NAME.fullmatch(self.name):
            raise ValueError(f"not an environment variable name: {self.name!r}")


def _marker(name: str) -> str:
    return f"\x00env:{name}\x00"


def _with_markers(value: Any) -> Any:
    if isinstance(value, EnvSubstitution):
        return _marker(value.name)
    if isinstance(value, dict):
        return {k: _with_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_markers(v) for v in value]
    return value


def hocon_text(document: dict[str, Any]) -> str:
    text = json.dumps(_with_markers(document), indent=2) + "\n"
    return re.sub(r'"\\u0000env:([A-Z0-9_]+)\\u0000"', lambda m: "${" + m.group(1) + "}", text)

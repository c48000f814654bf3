"""HOCON files are rendered as JSON, which every HOCON parser reads unchanged."""

import json
from typing import Any


def hocon_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"

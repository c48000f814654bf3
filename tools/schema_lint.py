"""Lint a folder of self-describing JSON schemas laid out as `<vendor>/<name>/jsonschema/<x-y-z>`.

Each file must be a JSON Schema (draft 4, checked against the draft-4 meta-schema bundled with the
`jsonschema` package) carrying Iglu's self-describing header: `$schema` naming the meta-schema
`iglu:com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0` and a `self` block whose vendor, name,
format and version follow that meta-schema's rules and match the file's path. The header rules are
implemented here, so linting needs neither network nor a copy of Iglu Central.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SELF_DESCRIBING_META_SCHEMA = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#"
# What the self-describing meta-schema allows in each part of `self`.
SELF_PARTS = {
    "vendor": re.compile(r"^[a-zA-Z0-9_.-]+$"),
    "name": re.compile(r"^[a-zA-Z0-9_-]+$"),
    "format": re.compile(r"^[a-zA-Z0-9_-]+$"),
    "version": re.compile(r"^[0-9]+-[0-9]+-[0-9]+$"),
}
FORMAT = "jsonschema"  # the only format an Iglu Server stores
IGNORED = {"README.md"}


@dataclass(frozen=True)
class SchemaFile:
    path: Path
    vendor: str
    name: str
    version: str
    body: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"iglu:{self.vendor}/{self.name}/{FORMAT}/{self.version}"

    @property
    def api_path(self) -> str:
        return f"{self.vendor}/{self.name}/{FORMAT}/{self.version}"

    @property
    def order(self) -> tuple:
        """Publishing order: an Iglu Server accepts a version only after the ones it follows."""
        return (self.vendor, self.name, *(int(p) for p in self.version.split("-")))


def header_problems(body: Any) -> list[str]:
    """Where `body` breaks the self-describing meta-schema's rules for `$schema` and `self`."""
    if not isinstance(body, dict):
        return ["is not a JSON object"]
    problems = []
    if body.get("$schema") != SELF_DESCRIBING_META_SCHEMA:
        problems.append(f"$schema must be {SELF_DESCRIBING_META_SCHEMA} (got {json.dumps(body.get('$schema'))})")
    own = body.get("self")
    if not isinstance(own, dict):
        return [*problems, "needs a `self` object with vendor, name, format and version"]
    for part, pattern in SELF_PARTS.items():
        value = own.get(part)
        if not isinstance(value, str) or not pattern.match(value):
            problems.append(f"self.{part} must match {pattern.pattern} (got {json.dumps(value)})")
    extra = sorted(set(own) - set(SELF_PARTS))
    if extra:
        problems.append(f"self has keys the meta-schema forbids: {', '.join(extra)}")
    return problems


def draft4_problems(body: dict[str, Any]) -> list[str]:
    validator = Draft4Validator(Draft4Validator.META_SCHEMA)
    return [
        f"not a valid draft-4 JSON Schema at {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    ]


def lint_file(root: Path, path: Path) -> tuple[SchemaFile | None, list[str]]:
    relative = path.relative_to(root)
    parts = relative.parts
    if len(parts) != 4 or parts[2] != FORMAT or not SELF_PARTS["version"].match(parts[3]):
        return None, [f"{relative}: must sit at <vendor>/<name>/{FORMAT}/<model>-<revision>-<addition>"]
    try:
        body = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError) as err:
        return None, [f"{relative}: not JSON ({err})"]
    problems = header_problems(body)
    if isinstance(body, dict):
        problems += draft4_problems(body)
        own = body.get("self")
        if isinstance(own, dict):
            expected = {"vendor": parts[0], "name": parts[1], "format": parts[2], "version": parts[3]}
            for part, value in expected.items():
                if part in own and own[part] != value:
                    problems.append(f"self.{part} is {json.dumps(own[part])} but the path says {json.dumps(value)}")
    if problems:
        return None, [f"{relative}: {p}" for p in problems]
    return SchemaFile(path, parts[0], parts[1], parts[3], body), []


def lint(root: Path) -> tuple[list[SchemaFile], list[str]]:
    """Every schema under `root` in publishing order, and every problem found (empty when all are valid)."""
    if not root.is_dir():
        return [], [f"{root}: no such folder"]
    schemas, problems = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or str(relative) in IGNORED:
            continue
        schema, found = lint_file(root, path)
        problems += found
        if schema is not None:
            schemas.append(schema)
    return sorted(schemas, key=lambda s: s.order), problems

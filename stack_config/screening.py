"""Checks on the raw `snowplow:*` values before the typed model reads them.

Every string, key or value, at any depth: no Secrets Manager reference (the program writes those itself,
from `*SecretArn` keys), no control characters (line breaks only in multi-line source keys), bounded length.
Also catches keys set without `--path`, which arrive as one top-level key with dots in its name.
"""

import json
import re
import shlex
import unicodedata
from collections.abc import Iterator
from typing import Any

# Any spelling a resolver could act on: CloudFormation-style `{{resolve:...}}` (spaces and case tolerated)
# and the `resolve:secretsmanager:` / `resolve:ssm:` core, in case braces come from a neighbouring value.
RESOLVER_REFERENCE = re.compile(r"\{\{\s*resolve\s*:|resolve\s*:\s*(secretsmanager|ssm)", re.IGNORECASE)
MULTI_LINE_KEYS = ("script", "sql", "snowflakePrivateKey")  # JavaScript source, SQL queries and PEM keys span lines
MAX_LINE = 2_048
MAX_SOURCE = 262_144
_LINE_BREAKS = "\n\r\t"


def walk(value: Any, loc: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string in a decoded config value with its path; a mapping's keys are checked at their own path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*loc, key), str(key)
            yield from walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*loc, index))
    elif isinstance(value, str):
        yield loc, value


def text_problem(loc: tuple, text: str) -> str | None:
    """What is wrong with one string of the config, or None."""
    if RESOLVER_REFERENCE.search(text):
        return (
            "Secrets Manager references ({{resolve:...}}) are not accepted in stack config: put the secret's ARN "
            "in the matching *SecretArn key (e.g. passwordSecretArn) and the program references it where it belongs"
        )
    multi_line = bool(loc) and loc[-1] in MULTI_LINE_KEYS
    controls = [c for c in text if unicodedata.category(c) == "Cc" and not (multi_line and c in _LINE_BREAKS)]
    if controls:
        where = "" if multi_line else " (line breaks and tabs only in " + ", ".join(MULTI_LINE_KEYS) + ")"
        return f"must not contain control characters such as {ascii(controls[0])}{where}"
    limit = MAX_SOURCE if multi_line else MAX_LINE
    if len(text) > limit:
        return f"must be at most {limit} characters"
    return None


def forgotten_path_problem(namespace: str, key: str, value: Any, top_level: list[str], shown: str) -> str:
    """`snowplow:a.b.c` arrives as one key when `pulumi config set` ran without `--path`: say how to fix it."""
    first = re.split(r"[.\[]", key, maxsplit=1)[0]
    full = f"{namespace}:{key}"
    if first not in top_level:
        return (
            f"{full}: unknown key (value {shown}); allowed keys here: {', '.join(top_level)} "
            "(nested keys are set with `pulumi config set --path`)"
        )
    secret = " --secret" if shown.startswith("[secret") else ""
    example = "<value>" if secret else shlex.quote(value if isinstance(value, str) else json.dumps(value))
    return (
        f"{full}: this is one top-level key named {key!r}, because `pulumi config set` ran without --path; "
        f"it belongs under {namespace}:{first}. Fix: pulumi config rm {shlex.quote(full)} && "
        f"pulumi config set{secret} --path {shlex.quote(full)} {example} (got {shown})"
    )

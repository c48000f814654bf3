"""Resource types read from `aws_types.json`, which is generated from the pulumi-aws SDK (the pack never imports
the SDK). It lists every taggable type, every type that carries a guarded setting (with the wire paths to it),
and the alias types that express the same resource: `aws.alb.*` for `aws.lb.*`, the legacy `aws.elasticsearch.*`
for `aws.opensearch.*`, and the deprecated S3 `*V2` types for their successors."""

import json
from pathlib import Path

_DATA = json.loads((Path(__file__).resolve().parent / "aws_types.json").read_text())

SDK = _DATA["sdk"]
TAGGABLE = frozenset(_DATA["taggable"])
EQUIVALENTS: dict[str, str] = dict(_DATA["equivalents"])


def carriers(*settings: str) -> dict[str, list[str]]:
    """{type token: wire paths} of every type that carries one of `settings` (SDK names, e.g. "http_tokens")."""
    found: dict[str, list[str]] = {}
    for setting in settings:
        for token, paths in _DATA["carriers"][setting].items():
            found.setdefault(token, []).extend(paths)
    return found


def variants(*tokens: str) -> list[str]:
    """`tokens` plus every alias type of them, e.g. aws:lb/listener:Listener -> + aws:alb/listener:Listener."""
    wanted = set(tokens)
    return [*tokens, *sorted(alias for alias, canonical in EQUIVALENTS.items() if canonical in wanted)]

"""What an error message may show: values under secret-like keys and keys set with `--secret` are masked."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MASK = "[secret]"
# What the offline engine passes for a `secure:` value it cannot decrypt (the CLI passes the decrypted text).
UNDECRYPTED = "[secret: not decryptable offline]"
SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "salt", "credential", "key")
# Top-level keys whose free text only reaches app config files and outputs, which the program keeps secret
# when the key is. Everything else becomes plain resource properties (names, sizes, CIDRs, tags), which
# `--secret` cannot hide, so those keys are refused when set with --secret.
SECRET_CAPABLE_KEYS = ("collector", "enrich", "iglu", "destinationSecrets")
# Keys that hold nothing but credentials: accepted only when set with --secret (never in plain in a stack file).
SECRET_ONLY_KEYS = ("destinationSecrets",)
MAX_SHOWN = 200


def is_secret_like(segment: object) -> bool:
    """A key whose value may be a credential: password, secret, token, salt, credential, key..."""
    return isinstance(segment, str) and any(word in segment.lower() for word in SECRET_WORDS)


def _mask_nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if is_secret_like(k) else _mask_nested(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_nested(v) for v in value]
    return MASK if value == UNDECRYPTED else value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _secret_strings(value: Any, inside: bool) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if inside:
                yield str(key)
            yield from _secret_strings(item, inside or is_secret_like(key))
    elif isinstance(value, list):
        for item in value:
            yield from _secret_strings(item, inside)
    elif inside and isinstance(value, str):
        yield value


@dataclass(frozen=True)
class Secrecy:
    """The secret top-level keys (without `snowplow:`) and the raw values, to mask messages about them."""

    secret_keys: frozenset[str] = frozenset()
    raw: Any = None

    def hides(self, loc: tuple) -> bool:
        """Is the value at this path (top-level key first) secret?"""
        return bool(loc) and (loc[0] in self.secret_keys or any(is_secret_like(part) for part in loc))

    def show(self, value: Any, loc: tuple) -> str:
        """The value as an error message may show it: masked, JSON, at most MAX_SHOWN characters."""
        if self.hides(loc):
            return MASK
        text = json.dumps(_mask_nested(value), default=str, ensure_ascii=False)
        return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + f"... ({len(text)} characters)"

    def scrub(self, line: str) -> str:
        """Remove any secret text a validator quoted inside its message (the key before the first `: ` stays)."""
        key, sep, rest = line.partition(": ")
        for secret in self._secret_texts():
            for spelling in (secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]):
                rest = rest.replace(spelling, MASK)
        return key + sep + rest

    def _secret_texts(self) -> list[str]:
        raw = self.raw if isinstance(self.raw, dict) else {}
        texts = set(_secret_strings(raw, inside=False))
        for key in self.secret_keys:
            texts.update(_strings(raw.get(key)))
        # Longest first so a secret containing another is replaced whole; very short texts would garble messages.
        return sorted((t for t in texts if len(t) >= 4), key=len, reverse=True)

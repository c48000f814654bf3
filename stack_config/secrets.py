"""Every Secrets Manager secret a stack's config references, with the keys that reference it.

By convention a key that holds a secret's ARN is named `...SecretArn` (field `..._secret_arn`); this walk finds
every such key in the whole `snowplow:` config, so a new secret-bearing key is covered as soon as it follows it.
"""

from typing import Any

from pydantic import BaseModel

from stack_config.model import StackConfig


def _walk(value: Any, path: str, found: dict[str, list[str]]) -> None:
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            child = getattr(value, name)
            key = f"{path}.{field.alias or name}" if path else (field.alias or name)
            if name.endswith("_secret_arn") and isinstance(child, str):
                found.setdefault(child, []).append(key)
            else:
                _walk(child, key, found)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", found)
    elif isinstance(value, dict):
        for name, item in value.items():
            _walk(item, f"{path}.{name}", found)


def referenced_secrets(config: StackConfig) -> dict[str, list[str]]:
    """Secret ARN -> the `snowplow:` keys that name it, sorted by ARN."""
    found: dict[str, list[str]] = {}
    _walk(config, "", found)
    return {arn: [f"snowplow:{key}" for key in keys] for arn, keys in sorted(found.items())}

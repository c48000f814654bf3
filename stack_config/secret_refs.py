"""Which Secrets Manager secrets the stack may reference: its own account and region, or an explicit allowlist."""

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from stack_config.regions import partition_of

ALLOWLIST_KEY = "secrets.allowedArns"
KMS_KEYS_KEY = "secrets.kmsKeyArns"


def secret_arn_fields(model: Any, loc: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every `*SecretArn` value set in a validated config, with its path of YAML keys."""
    if isinstance(model, BaseModel):
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            key = field.alias or name
            if name.endswith("_secret_arn") and isinstance(value, str):
                yield (*loc, key), value
            else:
                yield from secret_arn_fields(value, (*loc, key))
    elif isinstance(model, (list, tuple)):
        for index, item in enumerate(model):
            yield from secret_arn_fields(item, (*loc, index))
    elif isinstance(model, dict):
        for key, item in model.items():
            yield from secret_arn_fields(item, (*loc, key))


def foreign_secret_reasons(arn: str, region: str, account_id: str) -> list[str]:
    """How a secret ARN differs from the stack's partition, region and account (empty if it doesn't)."""
    _, partition, _, arn_region, arn_account, *_ = arn.split(":")
    reasons = []
    if partition != partition_of(region):
        reasons.append(f"its partition is not {partition_of(region)}")
    if arn_region != region:
        reasons.append(f"its region is not the stack's region {region}")
    if arn_account != account_id:
        reasons.append(f"its account is not the stack's account {account_id}")
    return reasons


def place_of(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN: a Secrets Manager secret and the KMS key encrypting it share both."""
    _, _, _, region, account, *_ = arn.split(":")
    return region, account

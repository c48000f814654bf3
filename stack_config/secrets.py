"""Every Secrets Manager secret a stack's config references, with the keys that reference it.

By convention a key that holds a secret's ARN is named `...SecretArn` (field `..._secret_arn`); the walk in
`secret_refs.secret_arn_fields` finds every such key in the whole `snowplow:` config, so a new secret-bearing key
is covered as soon as it follows it.
"""

from stack_config.load import NAMESPACE, _key
from stack_config.model import StackConfig
from stack_config.secret_refs import secret_arn_fields


def referenced_secrets(config: StackConfig) -> dict[str, list[str]]:
    """Secret ARN -> the `snowplow:` keys that name it, sorted by ARN."""
    found: dict[str, list[str]] = {}
    for loc, arn in secret_arn_fields(config):
        found.setdefault(arn, []).append(_key(NAMESPACE, loc))
    return dict(sorted(found.items()))

"""Typed model of `snowplow:destinations.snowflake`, `snowplow:destinations.databricks` and of
`snowplow:destinationSecrets`, the credentials they may take from `pulumi config set --secret`.

Each warehouse credential comes either as the ARN of a Secrets Manager secret (`...SecretArn`, read at boot) or
as a `--secret` value under `destinationSecrets`, which the program stores in a secret of its own; never both.
"""

import re
from typing import Annotated, ClassVar

from pydantic import Field

from stack_config.apps import ConsumerConfig
from stack_config.base import ConfigModel, NonEmptyStr, matching
from stack_config.enrichments import SecretArn
from stack_config.secrecy import UNDECRYPTED
from stack_config.sizes import FeatureSize

SECRETS_KEY = "destinationSecrets"

SnowflakeAccount = Annotated[
    str,
    matching(
        r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*",
        "must be the account identifier as it appears in the account URL https://<account>.snowflakecomputing.com: "
        "<orgname>-<accountname> (underscores in the account name become hyphens), or a legacy "
        "<locator>.<region> such as xy12345.eu-west-1",
    ),
]
SnowflakeIdentifier = Annotated[
    str,
    matching(
        r"[A-Za-z_][A-Za-z0-9_$]{0,254}",
        "must be an unquoted Snowflake identifier: a letter or _, then letters, digits, _ or $ (at most 255)",
    ),
]
DatabricksHost = Annotated[
    str,
    matching(
        r"https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9-]+)*\.cloud\.databricks\.(com|us)",
        "must be the workspace URL of a Databricks workspace on AWS, https://<workspace>.cloud.databricks.com "
        "(no path, no trailing slash)",
    ),
]
UnityCatalogName = Annotated[
    str,
    matching(
        r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}",
        "must be a Unity Catalog name: letters, digits, _ and - (no spaces, dots or slashes), at most 255",
    ),
]
SNOWFLAKE_REQUIRED = ("account", "user", "role", "database", "schema")
DATABRICKS_REQUIRED = ("host", "catalog", "schema", "volume")


class SnowflakeLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.medium", 1, 2)


class DatabricksLoaderSize(FeatureSize):
    dev = ("t3a.small", 1, 1)
    prod = ("t3a.medium", 1, 2)


class SnowflakeDestination(ConsumerConfig):
    """The Snowflake Streaming Loader: enriched events into `<database>.<schema>.<table>` over Snowpipe Streaming,
    authenticated as `user` (key-pair authentication) with `role`."""

    enabled: bool = False
    account: SnowflakeAccount | None = None
    user: SnowflakeIdentifier | None = None
    role: SnowflakeIdentifier | None = None
    database: SnowflakeIdentifier | None = None
    schema_: SnowflakeIdentifier | None = Field(None, alias="schema")
    table: SnowflakeIdentifier = "events"
    private_key_secret_arn: SecretArn | None = None
    private_key_passphrase_secret_arn: SecretArn | None = None
    max_records: int = Field(1_000, ge=1, le=10_000)
    size: SnowflakeLoaderSize = Field(default={}, validate_default=True)

    required: ClassVar[tuple[str, ...]] = SNOWFLAKE_REQUIRED

    @property
    def url(self) -> str:
        return f"https://{self.account}.snowflakecomputing.com"


class DatabricksDestination(ConsumerConfig):
    """The Databricks Streaming Loader: enriched events as parquet files into the Unity Catalog external volume
    `<catalog>.<schema>.<volume>`, which a Lakeflow Declarative Pipeline (created in Databricks) loads."""

    enabled: bool = False
    host: DatabricksHost | None = None
    catalog: UnityCatalogName | None = None
    schema_: UnityCatalogName | None = Field(None, alias="schema")
    volume: UnityCatalogName | None = None
    token_secret_arn: SecretArn | None = None
    max_records: int = Field(1_000, ge=1, le=10_000)
    size: DatabricksLoaderSize = Field(default={}, validate_default=True)

    required: ClassVar[tuple[str, ...]] = DATABRICKS_REQUIRED


class DestinationSecrets(ConfigModel):
    """Credentials set with `pulumi config set --secret --path snowplow:destinationSecrets.<key>`; each is stored
    in a Secrets Manager secret encrypted with the stack key and read by the loader at boot."""

    snowflake_private_key: NonEmptyStr | None = None
    snowflake_private_key_passphrase: NonEmptyStr | None = None
    databricks_token: NonEmptyStr | None = None


_PEM_HEADER = re.compile(r"-----BEGIN ([A-Z ]+)-----")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")


def private_key_problem(text: str) -> str | None:
    """What is wrong with a Snowflake private key's text (never quoting it), or None.

    The loader hands it to the Snowflake Ingest SDK, which reads PKCS#8 (PEM with or without its header lines).
    """
    if text == UNDECRYPTED:  # offline preview: the CLI passes the decrypted text, checked there
        return None
    header = _PEM_HEADER.search(text)
    if header is None:
        return None if _BASE64.fullmatch(text) else "must be a PKCS#8 private key in PEM (the contents of rsa_key.p8)"
    if header.group(1) not in ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"):
        return (
            f"must be a PKCS#8 private key (-----BEGIN PRIVATE KEY----- or ENCRYPTED PRIVATE KEY), not "
            f"{header.group(1)}: convert it with `openssl pkcs8 -topk8 -in <key> -out rsa_key.p8`"
        )
    return None


def _key(path: str) -> str:
    return f"snowplow:{path}"


def _credential_problems(
    enabled: bool, where: str, arn_field: str, arn: str | None, secret_field: str, value: str | None, what: str
) -> list[str]:
    """A credential comes from exactly one of `<where>.<arn_field>` and `destinationSecrets.<secret_field>`."""
    arn_key, secret_key = _key(f"{where}.{arn_field}"), _key(f"{SECRETS_KEY}.{secret_field}")
    if not enabled:
        return [
            f"{key}: only used when {_key(where)}.enabled is true: remove it or enable the destination (got [secret])"
            for key, set_ in ((arn_key, arn), (secret_key, value))
            if set_ is not None
        ]
    if arn is not None and value is not None:
        return [f"{arn_key}: set either it or {secret_key}, not both (got [secret])"]
    if arn is None and value is None:
        return [
            f"{arn_key}: required when {_key(where)}.enabled is true: the ARN of a Secrets Manager secret holding "
            f"{what}, or set the value with `pulumi config set --secret --path {secret_key} ...` (got nothing)"
        ]
    return []


def warehouse_problems(config) -> list[str]:
    """Rules of the Snowflake and Databricks destinations that span keys; each names the key to change."""
    destinations, secrets, problems = config.destinations, config.destination_secrets, []
    for name, destination in (("snowflake", destinations.snowflake), ("databricks", destinations.databricks)):
        where = f"destinations.{name}"
        if destination.enabled:
            for field in destination.required:
                attribute = "schema_" if field == "schema" else field
                if getattr(destination, attribute) is None:
                    problems.append(f"{_key(where)}.{field}: required when {_key(where)}.enabled is true")
            streams = config.streams
            if streams.mode == "PROVISIONED" and destination.size.max_size > streams.shards.enriched:
                problems.append(
                    f"{_key(where)}.size.maxSize: {destination.size.max_size} exceeds "
                    f"snowplow:streams.shards.enriched ({streams.shards.enriched}); a Kinesis consumer never uses "
                    "more instances than its input stream has shards: raise the shards or lower maxSize"
                )
    snowflake = destinations.snowflake
    problems += _credential_problems(
        snowflake.enabled,
        "destinations.snowflake",
        "privateKeySecretArn",
        snowflake.private_key_secret_arn,
        "snowflakePrivateKey",
        secrets.snowflake_private_key,
        "the loader user's PKCS#8 private key (PEM)",
    )
    passphrase_arn, passphrase = snowflake.private_key_passphrase_secret_arn, secrets.snowflake_private_key_passphrase
    if passphrase_arn is not None or passphrase is not None:
        problems += _credential_problems(
            snowflake.enabled,
            "destinations.snowflake",
            "privateKeyPassphraseSecretArn",
            passphrase_arn,
            "snowflakePrivateKeyPassphrase",
            passphrase,
            "the private key's passphrase",
        )
    if secrets.snowflake_private_key is not None:
        problem = private_key_problem(secrets.snowflake_private_key)
        if problem:
            problems.append(f"{_key(SECRETS_KEY)}.snowflakePrivateKey: {problem} (got [secret])")
        elif "ENCRYPTED PRIVATE KEY" in secrets.snowflake_private_key and passphrase_arn is None and passphrase is None:
            problems.append(
                f"{_key(SECRETS_KEY)}.snowflakePrivateKeyPassphrase: the private key is encrypted: set its passphrase "
                "here (with --secret) or in snowplow:destinations.snowflake.privateKeyPassphraseSecretArn "
                "(got nothing)"
            )
    databricks = destinations.databricks
    problems += _credential_problems(
        databricks.enabled,
        "destinations.databricks",
        "tokenSecretArn",
        databricks.token_secret_arn,
        "databricksToken",
        secrets.databricks_token,
        "a Databricks personal access token of the loader's (service) principal",
    )
    return problems

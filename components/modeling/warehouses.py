"""How the modeling task reaches each warehouse it can run in: one function per warehouse, returning what the
task needs (dbt adapter, profiles.yml target, environment, secrets, network admission).

The contract with `modeling/dbt/profiles.yml` (identical in `modeling/unified/`): the target is the warehouse's
name; `DBT_HOST`, `DBT_PORT`, `DBT_USER`, `DBT_DATABASE`, `DBT_SCHEMA` and `DBT_SSLMODE` are plain environment
values; the password is `DBT_ENV_SECRET_PASSWORD`, injected by ECS from Secrets Manager (dbt scrubs variables
named DBT_ENV_SECRET_* from its logs); Snowflake authenticates with its loader's key pair instead
(`DBT_ENV_SECRET_PRIVATE_KEY`, `DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE`). Adding a warehouse: its adapter pin in
`components.apps.app_versions.DBT_ADAPTERS`, its stack-config key in `stack_config.analysis.WAREHOUSE_KEYS`, a
function here, and its case in `__main__.py`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi

from components.apps.app_versions import DBT_ADAPTERS
from components.destinations.redshift_loader_config import RedshiftConnection
from components.platform.database import AppLogin, PostgresConnection, PostgresDatabase
from stack_config.warehouses import DatabricksDestination, SnowflakeDestination

# Schema the models write to (dbt's target schema; the events stay in the loader's schema).
MODELED_SCHEMA = "derived"
# The variable profiles.yml reads the password from.
PASSWORD_VARIABLE = "DBT_ENV_SECRET_PASSWORD"


@dataclass(frozen=True)
class Warehouse:
    name: str
    """The profiles.yml target and the key of DBT_ADAPTERS."""
    environment: pulumi.Input[Mapping[str, str]]
    """Plain connection settings (DBT_HOST, ...)."""
    secrets: pulumi.Input[Mapping[str, str]]
    """Variable -> ARN of the Secrets Manager secret (or `<arn>:<json key>::`) ECS injects at task start."""
    secret_arns: list[pulumi.Input[str]]
    """The secrets themselves, for the execution role: exact ARNs."""
    admit: Callable[[str, pulumi.Input[str]], None] | None = None
    """Opens the warehouse to the task's security group (app name, group id); None when it is reached over HTTPS."""
    events_schema: str = "atomic"
    """Where the loader writes its events; the models read it through the `snowplow__atomic_schema` var."""
    events_table: str = "events"
    """The loader's events table; the models read it through the `snowplow__events_table` var."""

    @property
    def adapter(self) -> str:
        return DBT_ADAPTERS[self.name]


def postgres_warehouse(database: PostgresDatabase, login: AppLogin) -> Warehouse:
    """The stack's Postgres destination: dbt connects with the loader's role, which owns the events database (it
    reads `atomic` and creates the modeled schema), over the database's security group; the database forces TLS."""

    def environment(c: PostgresConnection) -> dict[str, str]:
        return {
            "DBT_HOST": c.host,
            "DBT_PORT": str(c.port),
            "DBT_USER": c.username,
            "DBT_DATABASE": c.database,
            "DBT_SCHEMA": MODELED_SCHEMA,
            "DBT_SSLMODE": "require",
        }

    return Warehouse(
        name="postgres",
        environment=login.connection.apply(environment),
        secrets=login.password_secret_arn.apply(lambda arn: {PASSWORD_VARIABLE: arn}),
        secret_arns=[login.password_secret_arn],
        admit=database.admit,
    )


def redshift_warehouse(
    connection: pulumi.Output[RedshiftConnection],
    password_secret_arn: pulumi.Input[str],
    events_schema: str,
    admit: Callable[[str, pulumi.Input[str]], None],
) -> Warehouse:
    """The stack's Redshift destination: dbt logs in as the loader's user (its password secret holds the plain
    password), which owns the events schema; it must also be allowed to create the modeled schema (README)."""

    def environment(c: RedshiftConnection) -> dict[str, str]:
        return {
            "DBT_HOST": c.host,
            "DBT_PORT": str(c.port),
            "DBT_USER": c.username,
            "DBT_DATABASE": c.database,
            "DBT_SCHEMA": MODELED_SCHEMA,
            "DBT_SSLMODE": "require",
        }

    return Warehouse(
        name="redshift",
        environment=connection.apply(environment),
        secrets=pulumi.Output.from_input(password_secret_arn).apply(lambda arn: {PASSWORD_VARIABLE: arn}),
        secret_arns=[password_secret_arn],
        admit=admit,
        events_schema=events_schema,
    )


def snowflake_warehouse(
    config: SnowflakeDestination,
    virtual_warehouse: str,
    private_key_secret_arn: pulumi.Input[str],
    passphrase_secret_arn: pulumi.Input[str] | None,
) -> Warehouse:
    """The stack's Snowflake destination: dbt authenticates as the loader's user with its key pair (the user has no
    password) and runs its queries on `modeling.snowflakeWarehouse`; Snowflake is reached over HTTPS."""
    arns = [private_key_secret_arn, *([passphrase_secret_arn] if passphrase_secret_arn is not None else [])]

    def secrets(values: list[str]) -> dict[str, str]:
        names = ["DBT_ENV_SECRET_PRIVATE_KEY", "DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE"]
        return dict(zip(names, values, strict=False))

    return Warehouse(
        name="snowflake",
        environment={
            "DBT_ACCOUNT": config.account,
            "DBT_USER": config.user,
            "DBT_ROLE": config.role,
            "DBT_WAREHOUSE": virtual_warehouse,
            "DBT_DATABASE": config.database,
            "DBT_SCHEMA": MODELED_SCHEMA,
        },
        secrets=pulumi.Output.all(*arns).apply(secrets),
        secret_arns=arns,
        events_schema=config.schema_,
        events_table=config.table,
    )


def databricks_warehouse(
    config: DatabricksDestination, http_path: str, events_table: str, token_secret_arn: pulumi.Input[str]
) -> Warehouse:
    """The stack's Databricks destination: dbt authenticates with the loader's access token (its service principal
    must also read the events table and create the modeled schema, README) and runs its queries on the SQL warehouse
    at `http_path`; the workspace is reached over HTTPS. The events are the table your pipeline fills from the
    loader's files, in the loader's catalog and schema."""
    return Warehouse(
        name="databricks",
        environment={
            "DBT_HOST": config.host.removeprefix("https://"),
            "DBT_HTTP_PATH": http_path,
            "DBT_DATABASE": config.catalog,
            "DBT_SCHEMA": MODELED_SCHEMA,
        },
        secrets=pulumi.Output.from_input(token_secret_arn).apply(lambda arn: {PASSWORD_VARIABLE: arn}),
        secret_arns=[token_secret_arn],
        events_schema=config.schema_,
        events_table=events_table,
    )

"""How the modeling task reaches each warehouse it can run in: one function per warehouse, returning what the
task needs (dbt image, profiles.yml target, environment, secrets, network admission).

The dbt project's `profiles.yml` has one target per warehouse and reads its connection from the DBT_* variables
set here. Adding a warehouse: its image in `components.apps.app_versions.DBT_IMAGES`, its stack-config key in
`stack_config.analysis.WAREHOUSE_KEYS`, a function here, and its case in `__main__.py`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi

from components.apps.app_versions import DBT_IMAGES
from components.platform.database import AppLogin, PostgresConnection, PostgresDatabase

# Schema the models write to (dbt's target schema; the events stay in the loader's `atomic`).
MODELED_SCHEMA = "derived"


@dataclass(frozen=True)
class Warehouse:
    name: str
    """The profiles.yml target and the key of DBT_IMAGES."""
    environment: pulumi.Input[Mapping[str, str]]
    """Plain connection settings (DBT_HOST, ...)."""
    secrets: pulumi.Input[Mapping[str, str]]
    """Variable -> ARN of the Secrets Manager secret (or `<arn>:<json key>::`) ECS injects at task start."""
    secret_arns: list[pulumi.Input[str]]
    """The secrets themselves, for the execution role: exact ARNs."""
    admit: Callable[[str, pulumi.Input[str]], None] | None = None
    """Opens the warehouse to the task's security group (app name, group id); None when it is reached over HTTPS."""
    notes: list[str] = field(default_factory=list)

    @property
    def image(self) -> str:
        return DBT_IMAGES[self.name]


def postgres_warehouse(database: PostgresDatabase, login: AppLogin) -> Warehouse:
    """The stack's Postgres destination: dbt connects with the loader's role, which owns the events database (it
    reads `atomic` and creates the modeled schema), over the database's security group."""

    def environment(c: PostgresConnection) -> dict[str, str]:
        return {
            "DBT_HOST": c.host,
            "DBT_PORT": str(c.port),
            "DBT_USER": c.username,
            "DBT_DATABASE": c.database,
            "DBT_SCHEMA": MODELED_SCHEMA,
        }

    return Warehouse(
        name="postgres",
        environment=login.connection.apply(environment),
        secrets=login.password_secret_arn.apply(lambda arn: {"DBT_PASSWORD": arn}),
        secret_arns=[login.password_secret_arn],
        admit=database.admit,
    )

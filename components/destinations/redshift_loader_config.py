"""redshift-loader.hocon (Snowplow RDB Loader Redshift 6.3+) as data: keys as its configuration reference names them."""

from dataclasses import dataclass
from typing import Any

from components.apps.enrichment_files import secret_placeholder


@dataclass(frozen=True)
class RedshiftConnection:
    """Where the loader logs in and the role Redshift's COPY assumes; the password only as a secret ARN."""

    host: str
    port: int
    database: str
    schema: str
    username: str
    password_secret_arn: str
    copy_role_arn: str


def render_loader_config(
    *,
    region: str,
    queue_name: str,
    connection: RedshiftConnection,
    max_error: int,
    telemetry: bool,
) -> dict[str, Any]:
    """Password auth (`jdbcAuth`, 6.3.0+), its value resolved on the instance from Secrets Manager; COPY with
    `NoCreds`: Redshift assumes `roleArn`, associated with the warehouse, to read the transformer's output;
    TLS with the server's certificate and host name verified."""
    return {
        "license": {"accept": True},
        "region": region,
        "messageQueue": {"type": "sqs", "queueName": queue_name},
        "storage": {
            "type": "redshift",
            "host": connection.host,
            "port": connection.port,
            "database": connection.database,
            "schema": connection.schema,
            "username": connection.username,
            "jdbcAuth": {"type": "password", "password": secret_placeholder(connection.password_secret_arn)},
            "roleArn": connection.copy_role_arn,
            "loadAuthMethod": {"type": "NoCreds"},
            "maxError": max_error,
            "jdbc": {"ssl": True, "sslMode": "verify-full"},
        },
        "telemetry": {"disable": not telemetry},
    }

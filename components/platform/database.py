"""An RDS PostgreSQL instance for the apps that need one (Iglu Server, Postgres destination).

Private subnets only, its own security group open on 5432 to named app security groups only, TLS forced by
its parameter group, gp3 storage and Performance Insights encrypted with the stack key, log exports into
encrypted log groups, automated backups and a final snapshot; Multi-AZ, deletion protection and
protect/retain in prod. The master password is generated here (pulumi-random) into a Secrets Manager
secret encrypted with the stack key: apps receive only the secret's ARN.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.context import StackContext
from components.observability.metrics import database_free_storage
from components.platform.reach import admit_on_port
from components.platform.secrets import stack_secret
from stack_config.database import DatabaseInstance

POSTGRES_MAJOR = "16"
PARAMETER_FAMILY = f"postgres{POSTGRES_MAJOR}"
POSTGRES_PORT = 5432
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
LOG_EXPORTS = ("postgresql", "upgrade")
PERFORMANCE_INSIGHTS_DAYS = 7  # the free retention


@dataclass(frozen=True)
class PostgresConnection:
    """How an app reaches one database: the password only as the ARN of the secret that holds it."""

    host: str
    port: int
    database: str
    username: str
    password_secret_arn: str


@dataclass(frozen=True)
class DatabaseBootstrap:
    """SQL an app needs run before it first starts: its own login role, database and schema on one instance.

    Run with the instance's master user by whoever may (see `render_postgres_bootstrap`); the app itself then
    connects as `role` and never holds the master password.
    """

    host: str
    port: int
    master_username: str
    master_secret_arn: str
    role: str
    role_secret_arn: str
    database: str
    schema: str


@dataclass(frozen=True)
class AppLogin:
    """An app's own role on a database instance: how it connects, and the bootstrap that creates the role."""

    connection: pulumi.Output[PostgresConnection]
    bootstrap: pulumi.Output[DatabaseBootstrap]
    password_secret_arn: pulumi.Output[str]


@dataclass
class PostgresDatabaseArgs:
    context: StackContext
    purpose: str
    """Physical name part, e.g. `iglu-db`."""
    database_name: str | None
    """The database RDS creates with the instance (None: only `postgres`; apps bring theirs via `app_login`)."""
    master_username: str
    config: DatabaseInstance
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int


class PostgresDatabase(pulumi.ComponentResource):
    address: pulumi.Output[str]
    password_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:platform:PostgresDatabase", name, None, opts)
        ctx, cfg = args.context, args.config
        self._ctx, self._name, self._args = ctx, name, args
        child = pulumi.ResourceOptions(parent=self)
        identifier = ctx.short_name(args.purpose, 63)

        password, secret = self._generated_password(
            f"{name}-master-password", "master-password", f"Master password of the {identifier} PostgreSQL instance"
        )

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=identifier,
            description=f"{identifier} PostgreSQL: {POSTGRES_PORT} from the apps that use it, nothing else",
            vpc_id=args.vpc_id,
            tags=ctx.tags_for(identifier),
            opts=child,
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=identifier,
            description=f"Private subnets of {identifier}",
            subnet_ids=args.subnet_ids,
            tags=ctx.tags_for(identifier),
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            name_prefix=f"{identifier}-",
            family=PARAMETER_FAMILY,
            description=f"{identifier}: TLS required for every connection",
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1", apply_method="immediate")],
            tags=ctx.tags_for(identifier),
            opts=child,
        )
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{kind}",
                name=ctx.database_log_group_name(identifier, kind),
                retention_in_days=args.log_retention_days,
                kms_key_id=args.kms_key_arn,
                tags=ctx.tags_for(identifier),
                opts=child,
            )
            for kind in LOG_EXPORTS
        ]
        # A new suffix per instance, so a dev stack destroyed and created again never meets its old snapshot.
        snapshot_suffix = random.RandomId(f"{name}-final-snapshot", byte_length=4, opts=child)

        instance = aws.rds.Instance(
            name,
            identifier=identifier,
            engine="postgres",
            engine_version=POSTGRES_MAJOR,
            auto_minor_version_upgrade=True,
            instance_class=cfg.instance_class,
            storage_type="gp3",
            allocated_storage=cfg.allocated_storage,
            max_allocated_storage=cfg.max_allocated_storage,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=args.database_name,
            username=args.master_username,
            password=password.result,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            ca_cert_identifier=CA_CERTIFICATE,
            multi_az=cfg.multi_az,
            backup_retention_period=cfg.backup_retention_days,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not ctx.protect_data,
            skip_final_snapshot=False,
            final_snapshot_identifier=snapshot_suffix.hex.apply(lambda h: f"{identifier}-final-{h}"),
            deletion_protection=ctx.protect_data,
            apply_immediately=not ctx.protect_data,
            performance_insights_enabled=cfg.performance_insights,
            performance_insights_kms_key_id=args.kms_key_arn if cfg.performance_insights else None,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_DAYS if cfg.performance_insights else None,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            tags=ctx.tags_for(identifier),
            opts=ctx.stateful(self, depends_on=log_groups),
        )

        self.address = instance.address
        self.password_secret_arn = secret.arn
        self.security_group_id = sg.id
        self.identifier = identifier
        self.signals = [
            database_free_storage(
                args.purpose, identifier, cfg.allocated_storage, cfg.max_allocated_storage is not None
            )
        ]
        self.register_outputs(
            {"address": self.address, "passwordSecretArn": self.password_secret_arn, "securityGroupId": sg.id}
        )

    def connection(self, database: str | None = None) -> pulumi.Output[PostgresConnection]:
        """Connection details for `database` (default: the one RDS created), as the master user."""
        args = self._args
        return pulumi.Output.all(self.address, self.password_secret_arn).apply(
            lambda v: PostgresConnection(
                host=v[0],
                port=POSTGRES_PORT,
                database=database or args.database_name or "postgres",
                username=args.master_username,
                password_secret_arn=v[1],
            )
        )

    def app_login(self, app: str, role: str, database: str, schema: str) -> AppLogin:
        """A login role for `app` owning `database` and its `schema`, password generated into its own secret."""
        args = self._args
        _, secret = self._generated_password(
            f"{self._name}-{app}-password",
            f"{role}-password",
            f"Password of role {role} ({app}) on the {self.identifier} PostgreSQL instance",
        )
        connection = pulumi.Output.all(self.address, secret.arn).apply(
            lambda v: PostgresConnection(v[0], POSTGRES_PORT, database, role, v[1])
        )
        bootstrap = pulumi.Output.all(self.address, self.password_secret_arn, secret.arn).apply(
            lambda v: DatabaseBootstrap(v[0], POSTGRES_PORT, args.master_username, v[1], role, v[2], database, schema)
        )
        return AppLogin(connection, bootstrap, secret.arn)

    def _generated_password(
        self, resource_name: str, name: str, description: str
    ) -> tuple[random.RandomPassword, aws.secretsmanager.Secret]:
        """A new password in secret `<prefix>/<purpose>/<name>`, encrypted with the stack key."""
        password = random.RandomPassword(
            resource_name,
            length=40,
            special=False,  # letters and digits: no quoting surprises in HOCON, JDBC or shell
            opts=pulumi.ResourceOptions(parent=self),
        )
        args = self._args
        secret = stack_secret(
            resource_name,
            self._ctx,
            f"{args.purpose}/{name}",
            description,
            args.kms_key_arn,
            self,
            value=password.result,
        )
        return password, secret

    def admit(self, app: str, app_security_group_id: pulumi.Input[str]) -> None:
        """Open 5432 from one app's instances to this database: ingress here, egress on the app's group."""
        admit_on_port(
            self,
            self._ctx,
            self._name,
            "PostgreSQL",
            self.identifier,
            app,
            app_security_group_id,
            self.security_group_id,
            POSTGRES_PORT,
        )

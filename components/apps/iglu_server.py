"""The stack's Iglu Server: schema registry on the EC2-service base, behind its own load balancer, on RDS.

Boot of each instance: `setup` (creates the tables if missing; safe to repeat) before the server starts;
once healthy, `iglu_keys.py` makes sure the read key (for enrich and the loaders) and the write key (for
`make publish-schemas`) exist in their secrets, and `postgres-bootstrap.sh` prepares the roles, databases
and schemas other apps need. The super API key is generated here and only the Iglu instances can read it.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.apps import iglu_keys
from components.apps.app_versions import IGLU_SERVER_IMAGE
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, Ingress, InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.iam import stack_key_via
from components.apps.iglu_server_config import (
    HEALTH_PATH,
    IGLU_PORT,
    READ_KEY_PATH,
    SUPER_KEY_PATH,
    WRITE_KEY_PATH,
    render_iglu_server_config,
)
from components.context import StackContext
from components.observability.metrics import load_balancer_signals
from components.platform.database import DatabaseBootstrap, PostgresDatabase
from components.platform.database_bootstrap import SCRIPT_NAME as BOOTSTRAP_SCRIPT
from components.platform.database_bootstrap import render_postgres_bootstrap
from components.platform.load_balancer import (
    AllowedSource,
    HealthCheck,
    LoadBalancerArgs,
    PublicLoadBalancer,
    Tls,
    allowed,
)
from components.platform.secrets import stack_secret
from stack_config.apps import OperationsConfig
from stack_config.iglu_server import IgluServerConfig
from stack_config.observability import AlarmThresholds

APP = "iglu-server"
CONFIG_PATH = "/snowplow/config/iglu-server.hocon"
KEYS_SCRIPT = "iglu_keys.py"
KEYS_SETTINGS = "iglu-keys.json"


@dataclass(frozen=True)
class IgluEndpoint:
    """What a resolver needs to read the stack's Iglu Server: its API URI and the read key's secret."""

    api_uri: pulumi.Output[str]
    read_key_secret_arn: pulumi.Output[str]
    tls: bool


@dataclass
class IgluServerArgs:
    context: StackContext
    config: IgluServerConfig
    operations: OperationsConfig
    instance: InstanceFacts
    placement: Placement
    public_subnet_ids: pulumi.Input[Sequence[str]]
    stack_egress: list[AllowedSource]
    """The stack's NAT gateway IPs: enrich and the loaders reach the server through them."""
    database: PostgresDatabase
    bootstraps: list[pulumi.Output[DatabaseBootstrap]] = field(default_factory=list)
    bootstrap_databases: list[PostgresDatabase] = field(default_factory=list)
    """Other instances the bootstraps run against (admitted on 5432)."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)


def post_start_lines(bootstrap: bool) -> list[str]:
    """Host lines once the server is healthy; what they need (secret ARNs, hosts) is in the config files."""
    lines = [f'python3 "$CONFIG_DIR/{KEYS_SCRIPT}" --settings "$CONFIG_DIR/{KEYS_SETTINGS}"']
    if bootstrap:
        lines.append(f'bash "$CONFIG_DIR/{BOOTSTRAP_SCRIPT}"')
    return lines


def keys_settings(super_arn: str, read_arn: str, write_arn: str) -> str:
    settings = {
        "server": f"http://127.0.0.1:{IGLU_PORT}",
        "superKeySecret": super_arn,
        "readKeySecret": read_arn,
        "writeKeySecret": write_arn,
    }
    return json.dumps(settings, indent=2) + "\n"


class IgluServer(pulumi.ComponentResource):
    url: pulumi.Output[str]
    endpoint: IgluEndpoint
    write_key_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: IgluServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:registry:IgluServer", name, None, opts)
        ctx, cfg = args.context, args.config
        child = pulumi.ResourceOptions(parent=self)
        key_arn = args.placement.kms_key_arn

        super_key = random.RandomUuid(
            f"{name}-super-api-key", opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"])
        )
        super_secret = stack_secret(
            f"{name}-super-api-key",
            ctx,
            SUPER_KEY_PATH,
            "Iglu Server super API key: creates keys; read only by the Iglu Server instances",
            key_arn,
            self,
            value=super_key.result,
        )
        read_secret = stack_secret(
            f"{name}-read-key",
            ctx,
            READ_KEY_PATH,
            "Iglu Server read key (all vendors) for enrich and the loaders; written by the server at first boot",
            key_arn,
            self,
        )
        write_secret = stack_secret(
            f"{name}-write-key",
            ctx,
            WRITE_KEY_PATH,
            "Iglu Server write key (all vendors) for make publish-schemas; written by the server at first boot",
            key_arn,
            self,
        )

        lb = PublicLoadBalancer(
            name,
            LoadBalancerArgs(
                context=ctx,
                app=APP,
                label="Iglu Server",
                clients="Schema clients",
                config_key="iglu",
                vpc_id=args.placement.vpc_id,
                public_subnet_ids=args.public_subnet_ids,
                sources=allowed(cfg.ingress_cidrs) + args.stack_egress,
                port=IGLU_PORT,
                health=HealthCheck(path=HEALTH_PATH),
                tls=Tls(cfg.domain, cfg.hosted_zone_id, cfg.certificate_arn),
                access_logs=cfg.access_logs,
                access_logs_bucket="iglu-alb-logs",
                log_expiration_days=max(args.operations.log_retention_days, 30),
            ),
            parent=self,
        )

        database = args.database
        hocon = pulumi.Output.all(database.connection(), super_secret.arn).apply(
            lambda v: hocon_text(render_iglu_server_config(v[0], v[1], cfg.patches_allowed))
        )
        files: dict[str, pulumi.Input[str]] = {
            "iglu-server.hocon": ctx.from_config("iglu", hocon),
            KEYS_SCRIPT: Path(iglu_keys.__file__).read_text(),
            KEYS_SETTINGS: pulumi.Output.all(super_secret.arn, read_secret.arn, write_secret.arn).apply(
                lambda v: keys_settings(*v)
            ),
        }
        bootstrap_secrets: list[pulumi.Output[str]] = []
        if args.bootstraps:
            files[BOOTSTRAP_SCRIPT] = pulumi.Output.all(*args.bootstraps).apply(render_postgres_bootstrap)
            for bootstrap in args.bootstraps:
                bootstrap_secrets += [
                    bootstrap.apply(lambda b: b.master_secret_arn),
                    bootstrap.apply(lambda b: b.role_secret_arn),
                ]
        key_secrets = [read_secret.arn, write_secret.arn]
        service = Ec2Service(
            f"{name}-service",
            Ec2ServiceArgs(
                context=ctx,
                app=APP,
                image=IGLU_SERVER_IMAGE,
                instance=args.instance,
                size=cfg.size,
                placement=args.placement,
                operations=args.operations,
                files=files,
                app_args=["--config", CONFIG_PATH],
                statements=[
                    {
                        "Sid": "StoreGeneratedIgluKeys",
                        "Effect": "Allow",
                        "Action": "secretsmanager:PutSecretValue",
                        "Resource": key_secrets,
                    },
                    stack_key_via(
                        "StackKeyEncryptsIgluKeys",
                        key_arn,
                        "secretsmanager",
                        ctx.region,
                        ["kms:GenerateDataKey"],
                        ("StringEquals", "SecretARN", key_secrets),
                    ),
                ],
                secret_arns=[database.password_secret_arn, super_secret.arn, *key_secrets, *bootstrap_secrets],
                ingress=[Ingress("From the Iglu Server load balancer", IGLU_PORT, lb.security_group_id)],
                target_group_arns=[lb.target_group_arn],
                health_port=IGLU_PORT,
                health_path=HEALTH_PATH,
                # `setup` creates the tables a first start needs and only what is missing after that.
                pre_start=[["setup", "--config", CONFIG_PATH]],
                post_start=post_start_lines(bool(args.bootstraps)),
            ),
            opts=child,
        )
        lb.forward_to(service.security_group_id)
        database.admit(APP, service.security_group_id)
        for other in args.bootstrap_databases:
            other.admit(APP, service.security_group_id)

        self._ctx, self._name, self._tls = ctx, name, cfg.tls
        self.url = lb.url
        # Enrich and the loaders stop validating (and fail events) when the registry is down.
        self.signals = [
            *load_balancer_signals(
                APP,
                "Iglu Server",
                lb.arn_suffix,
                lb.target_group_arn_suffix,
                args.thresholds.collector5xx_percent,
                None,
                ctx.log_group_name(APP),
            ),
            *service.signals,
        ]
        self.write_key_secret_arn = write_secret.arn
        self.endpoint = IgluEndpoint(self.url.apply(lambda u: f"{u}/api"), read_secret.arn, cfg.tls)
        self.register_outputs(
            {"url": self.url, "readKeySecretArn": read_secret.arn, "writeKeySecretArn": write_secret.arn}
        )

    def reachable_from(self, app: str, security_group_id: pulumi.Input[str]) -> None:
        """Apps reach the server's public load balancer through NAT; HTTPS egress they have already, plain
        HTTP (a server without TLS, dev only) needs its own rule."""
        if self._tls:
            return
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-http-from-{app}",
            security_group_id=security_group_id,
            description="HTTP to the stack's Iglu Server load balancer (it has no TLS certificate)",
            ip_protocol="tcp",
            from_port=80,
            to_port=80,
            cidr_ipv4="0.0.0.0/0",
            tags=self._ctx.tags_for(f"{self._ctx.name(app)}-to-iglu-http"),
            opts=pulumi.ResourceOptions(parent=self),
        )

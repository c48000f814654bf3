"""Typed model of `snowplow:iglu.server`: the stack's own Iglu Server (schema registry) and its database."""

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from stack_config.apps import CertificateArn, DomainName, HostedZoneId, IngressCidrs
from stack_config.base import ConfigModel, environment_default
from stack_config.database import DatabaseInstance
from stack_config.sizes import IgluServerSize

OWN_REGISTRY_NAME = "Iglu Server (this stack)"


class IgluDatabase(DatabaseInstance):
    classes: ClassVar[tuple[str, str]] = ("db.t4g.micro", "db.t4g.small")


class IgluServerConfig(ConfigModel):
    """The Iglu Server behind its own load balancer, on the EC2-service base, with an RDS PostgreSQL database.

    `ingressCidrs` lists who may reach the load balancer besides the stack's own apps (which come through the
    stack's NAT gateways and are always admitted): the operators and CI that publish schemas.
    """

    enabled: bool | None = Field(None, validate_default=True)
    size: IgluServerSize = Field(default={}, validate_default=True)
    ingress_cidrs: IngressCidrs = []
    domain: DomainName | None = None
    hosted_zone_id: HostedZoneId | None = None
    certificate_arn: CertificateArn | None = None
    access_logs: bool | None = Field(None, validate_default=True)
    patches_allowed: bool = False
    database: IgluDatabase = Field(default={}, validate_default=True)

    @field_validator("enabled", "access_logs")
    @classmethod
    def _environment_defaults(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, dev=False, prod=True)

    @model_validator(mode="after")
    def _tls(self, info: ValidationInfo):
        if (self.hosted_zone_id or self.certificate_arn) and not self.domain:
            raise ValueError(
                "hostedZoneId and certificateArn need domain: clients check the certificate against that name"
            )
        if self.domain and not (self.hosted_zone_id or self.certificate_arn):
            raise ValueError("domain needs hostedZoneId (certificate issued and validated here) or certificateArn")
        if self.enabled and not self.tls and environment_default(info, dev=False, prod=True):
            raise ValueError(
                "prod serves the Iglu Server over HTTPS only (its clients send API keys): set domain with "
                "hostedZoneId or certificateArn, or set enabled: false (snowplow:environment is prod)"
            )
        return self

    @property
    def tls(self) -> bool:
        return bool(self.certificate_arn or self.hosted_zone_id)


def iglu_server_problems(config) -> list[str]:
    """Rules between `iglu.server` and the rest of the stack; each names both keys."""
    server = config.iglu.server
    if not server.enabled:
        return []
    problems = []
    if server.domain and server.domain == config.collector.domain:
        problems.append(
            f"snowplow:iglu.server.domain: {server.domain} is also snowplow:collector.domain; each load balancer "
            "needs its own name (certificate and alias record): choose another, e.g. iglu.<your domain>"
        )
    if config.network.existing is not None and not server.ingress_cidrs:
        problems.append(
            "snowplow:iglu.server.ingressCidrs: with snowplow:network.existing the stack cannot know the public "
            "IPs through which enrich and the loaders reach the Iglu Server: list your NAT gateways' IPs (/32) "
            "and your operators' CIDRs (got [])"
        )
    for i, registry in enumerate(config.iglu.registries):
        host = registry.uri.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        if server.domain and host == server.domain:
            problems.append(
                f"snowplow:iglu.registries[{i}].uri: {registry.uri} is this stack's own Iglu Server "
                "(snowplow:iglu.server.domain); remove the entry: every resolver already reads it with a read key"
            )
        if registry.name == OWN_REGISTRY_NAME:
            problems.append(
                f"snowplow:iglu.registries[{i}].name: {OWN_REGISTRY_NAME!r} names the stack's own Iglu Server "
                "(snowplow:iglu.server.enabled); choose another name"
            )
    return problems

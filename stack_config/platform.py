"""Typed model of the platform keys: `snowplow:network` (new or adopted VPC) and `snowplow:streams`."""

import ipaddress
import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from stack_config.base import ConfigModel, PositiveInt, environment_default, matching
from stack_config.capacity import SHARDS_CONTEXT, cheaper_interface_endpoints, plan_from


def _vpc_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"must be an IPv4 network such as 10.40.0.0/16 ({err})") from None
    if not 16 <= net.prefixlen <= 22:
        raise ValueError("the VPC prefix length must be between /16 and /22")
    return value


InterfaceEndpoint = Literal["kinesis-streams", "logs", "monitoring"]
VpcId = Annotated[str, matching(r"vpc-[0-9a-f]{8,17}", "must be a VPC id such as vpc-0123456789abcdef0")]
SubnetId = Annotated[str, matching(r"subnet-[0-9a-f]{8,17}", "must be a subnet id such as subnet-0123456789abcdef0")]


class CreateNetwork(ConfigModel):
    """Build a new VPC with public and private subnets in `azs` availability zones."""

    cidr: Annotated[str, AfterValidator(_vpc_cidr)] = "10.40.0.0/16"
    azs: int = Field(2, ge=2, le=6)
    nat_gateways: int | None = Field(None, ge=1, le=6, validate_default=True)
    # Interface endpoints the private subnets reach AWS APIs through instead of the NAT gateways. Unset: the
    # cheaper choice for `snowplow:traffic` (stack_config.capacity.cheaper_interface_endpoints).
    interface_endpoints: list[InterfaceEndpoint] | None = Field(None, validate_default=True)

    @field_validator("nat_gateways")
    @classmethod
    def _nat_default(cls, value, info: ValidationInfo):
        if value is None:
            return environment_default(info, dev=1, prod=info.data.get("azs", 2))
        if value > info.data.get("azs", value):
            raise ValueError(f"cannot exceed azs ({info.data['azs']}): one NAT gateway per AZ at most")
        if environment_default(info, dev=False, prod=True) and value < info.data.get("azs", value):
            raise ValueError(
                f"prod needs one NAT gateway per AZ for HA: set natGateways to {info.data['azs']} or leave it unset"
            )
        return value

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoints_default(cls, value, info: ValidationInfo):
        if value is None:
            return cheaper_interface_endpoints(plan_from(info), info.data.get("azs", 2))
        if len(set(value)) != len(value):
            raise ValueError("list each endpoint once")
        return value

    def subnet_cidrs(self) -> tuple[list[str], list[str]]:
        """Split the VPC range into equal public then private subnets, one of each per AZ."""
        vpc = ipaddress.IPv4Network(self.cidr)
        bits = math.ceil(math.log2(2 * self.azs))
        blocks = [str(b) for b in vpc.subnets(prefixlen_diff=bits)]
        return blocks[: self.azs], blocks[self.azs : 2 * self.azs]


class ExistingNetwork(ConfigModel):
    """Adopt a VPC the organisation already runs (subnets must span two or more AZs)."""

    vpc_id: VpcId
    public_subnet_ids: list[SubnetId] = Field(min_length=2)
    private_subnet_ids: list[SubnetId] = Field(min_length=2)

    @field_validator("public_subnet_ids", "private_subnet_ids")
    @classmethod
    def _distinct(cls, value: list[str]):
        if len(set(value)) != len(value):
            raise ValueError("subnet ids must not repeat")
        return value


class NetworkConfig(ConfigModel):
    create: CreateNetwork | None = None
    existing: ExistingNetwork | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.create is None) == (self.existing is None):
            raise ValueError("set exactly one of `create` (new VPC) or `existing` (adopt a VPC)")
        return self


class ShardCounts(ConfigModel):
    """Shards per stream; each one left unset is derived from `snowplow:traffic` (stack_config.capacity)."""

    raw: PositiveInt | None = Field(None, validate_default=True)
    enriched: PositiveInt | None = Field(None, validate_default=True)
    bad1: PositiveInt | None = Field(None, validate_default=True)
    bad2: PositiveInt | None = Field(None, validate_default=True)

    @field_validator("raw", "enriched", "bad1", "bad2")
    @classmethod
    def _derived_default(cls, value, info: ValidationInfo):
        return value if value is not None else plan_from(info).shards()[info.field_name]

    @model_validator(mode="after")
    def _tell_the_consumers(self, info: ValidationInfo):
        """Consumers' ASG bounds stop at their input's shards: pass the effective counts down the context."""
        if info.context is not None:
            info.context[SHARDS_CONTEXT] = self.counts()
        return self

    def counts(self) -> dict[str, int]:
        return {"raw": self.raw, "enriched": self.enriched, "bad1": self.bad1, "bad2": self.bad2}


class StreamsConfig(ConfigModel):
    mode: Literal["PROVISIONED", "ON_DEMAND"] = "PROVISIONED"
    shards: ShardCounts = Field(default={}, validate_default=True)
    retention_hours: int | None = Field(None, ge=24, le=8760, validate_default=True)

    @field_validator("retention_hours")
    @classmethod
    def _retention_default(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, dev=24, prod=168)

    @model_validator(mode="after")
    def _shards_only_when_provisioned(self):
        if self.mode == "ON_DEMAND" and "shards" in self.model_fields_set:
            raise ValueError("`shards` only applies to mode PROVISIONED; remove it or set mode: PROVISIONED")
        return self

"""Typed model of the `snowplow:*` stack configuration (YAML keys are camelCase)."""

import ipaddress
import math
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from stack_config.apps import CollectorConfig, EnrichConfig, LakeConfig, LoadersConfig, OperationsConfig
from stack_config.base import ConfigModel, PositiveInt, environment_default
from stack_config.iglu import IgluConfig

LICENSE_URL = "https://docs.snowplow.io/limited-use-license-1.1/"
RESERVED_TAG_KEYS = ("project", "stack", "environment", "Name")
MAX_USER_TAGS = 7
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")


def _vpc_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"must be an IPv4 network such as 10.40.0.0/16 ({err})") from None
    if not 16 <= net.prefixlen <= 22:
        raise ValueError("the VPC prefix length must be between /16 and /22")
    return value


VpcId = Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
SubnetId = Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]


class CreateNetwork(ConfigModel):
    """Build a new VPC with public and private subnets in `azs` availability zones."""

    cidr: Annotated[str, AfterValidator(_vpc_cidr)] = "10.40.0.0/16"
    azs: int = Field(2, ge=2, le=6)
    nat_gateways: int | None = Field(None, ge=1, le=6, validate_default=True)

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
    raw: PositiveInt | None = Field(None, validate_default=True)
    enriched: PositiveInt | None = Field(None, validate_default=True)
    bad1: PositiveInt = 1
    bad2: PositiveInt = 1

    @field_validator("raw", "enriched")
    @classmethod
    def _busy_streams_default(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, dev=1, prod=2)


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


def _numbers_as_text(value):
    """YAML `cost-center: 1234` is a number; AWS tag values are text."""
    if isinstance(value, dict):
        return {k: str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for k, v in value.items()}
    return value


def _tags(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_USER_TAGS:
        raise ValueError(
            f"at most {MAX_USER_TAGS} tags: S3 objects accept 10 and the program sets project, stack and environment"
        )
    for key, tag_value in value.items():
        if key in RESERVED_TAG_KEYS:
            raise ValueError(f"tag key {key!r} is set by the program; reserved keys: {', '.join(RESERVED_TAG_KEYS)}")
        if key.lower().startswith("aws:") or not _TAG_KEY.match(key):
            raise ValueError(
                f"tag key {key!r} must be 1-128 of letters, digits, spaces and _.:/=+-@, not starting aws:"
            )
        if len(tag_value) > 256:
            raise ValueError(f"tag {key!r} value is longer than 256 characters")
    return value


class StackConfig(ConfigModel):
    """Everything under the `snowplow:` namespace of a stack file."""

    environment: Literal["dev", "prod"]
    accept_limited_use_license: bool
    network: NetworkConfig = Field(default={"create": {}}, validate_default=True)
    streams: StreamsConfig = Field(default={}, validate_default=True)
    tags: Annotated[dict[str, str], BeforeValidator(_numbers_as_text), AfterValidator(_tags)] = {}
    operations: OperationsConfig = Field(default={}, validate_default=True)
    collector: CollectorConfig = Field(default={}, validate_default=True)
    enrich: EnrichConfig = Field(default={}, validate_default=True)
    lake: LakeConfig = LakeConfig()
    loaders: LoadersConfig = Field(default={}, validate_default=True)
    iglu: IgluConfig = IgluConfig()

    @field_validator("accept_limited_use_license")
    @classmethod
    def _license(cls, value: bool):
        if value is not True:
            raise ValueError(
                "the Snowplow apps are under the Snowplow Limited Use License "
                f"({LICENSE_URL}); set it to true to accept it"
            )
        return value

    @property
    def protect_data(self) -> bool:
        return self.environment == "prod"


def consistency_problems(config: StackConfig) -> list[str]:
    """Rules that span several keys; each problem names the key to change."""
    problems = []
    if config.streams.mode == "PROVISIONED":
        shards = config.streams.shards
        for key, size, stream, count in (
            ("enrich", config.enrich.size, "raw", shards.raw),
            ("loaders.enriched", config.loaders.enriched.size, "enriched", shards.enriched),
            ("loaders.bad", config.loaders.bad.size, "bad1", shards.bad1),
        ):
            if size.max_size > count:
                problems.append(
                    f"snowplow:{key}.size.maxSize: {size.max_size} exceeds streams.shards.{stream} ({count}); "
                    "a Kinesis consumer never uses more instances than its input stream has shards: "
                    "raise the shards or lower maxSize"
                )
    return problems

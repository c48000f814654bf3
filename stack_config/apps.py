"""Config of the Snowplow apps: sizing, collector HTTP/TLS/cookies, enrich, lake and loaders."""

import ipaddress
import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from stack_config.base import ConfigModel, environment_default, matching
from stack_config.capacity import INPUT_STREAM_CONTEXT, THROUGHPUT, plan_from, shards_from
from stack_config.enrichments import EnrichmentsConfig

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+", re.ASCII)
_CUSTOM_PATH = re.compile(r"/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", re.ASCII)
TLS_CONTEXT = "collectorTls"  # validation-context entry: does the collector serve HTTPS?
_COLLECTOR_TARGETS = ("/com.snowplowanalytics.snowplow/tp2", "/r/tp2", "/com.snowplowanalytics.iglu/v1")

# app -> (dev, prod) defaults for instance type, min and max instances. Min and max are used only when no
# traffic sizing applies (stack_config.capacity derives them from `snowplow:traffic` and the instance type).
# x86_64 everywhere: Graviton needs every image multi-arch, and S3 loader 3.x's arm64 build is unproven.
SIZE_DEFAULTS = {
    "collector": (("t3a.micro", 1, 2), ("c6i.large", 2, 6)),
    "enrich": (("t3a.small", 1, 1), ("c6i.large", 2, 2)),
    "s3LoaderEnriched": (("t3a.micro", 1, 1), ("c6i.large", 1, 2)),
    "s3LoaderBad": (("t3a.micro", 1, 1), ("t3a.micro", 1, 1)),
}
DEFAULT_CPU_TARGET = 60


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"must be a CIDR block such as 203.0.113.0/24 ({err})") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


def _distinct_cidrs(values: list[str]) -> list[str]:
    """Each CIDR once (compared as networks, so 2001:db8::/32 and 2001:0db8::/32 are one): AWS refuses a security
    group rule that repeats another, which would stop `pulumi up` half-way."""
    seen: dict[object, str] = {}
    for value in values:
        network = ipaddress.ip_network(value)
        if network in seen:
            raise ValueError(f"{value} is listed twice (also as {seen[network]}); list each CIDR once")
        seen[network] = value
    return values


IngressCidrs = Annotated[list[Cidr], AfterValidator(_distinct_cidrs)]
DomainName = Annotated[
    str,
    Field(max_length=253),
    matching(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", "must be a lowercase DNS name such as example.com"),
]
HostedZoneId = Annotated[str, matching(r"Z[A-Z0-9]{4,31}", "must be a Route 53 hosted zone id such as Z0123456789ABC")]
CertificateArn = Annotated[
    str,
    matching(
        r"arn:aws:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+",
        "must be an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/<id>",
    ),
]


class ServiceSize(ConfigModel):
    """Instances of one app: EC2 type, autoscaling bounds and the CPU target it scales on."""

    app: ClassVar[str] = "collector"

    instance_type: str | None = Field(None, validate_default=True)
    cpu_target: int = Field(DEFAULT_CPU_TARGET, ge=20, le=90)
    min_size: int | None = Field(None, ge=1, le=100, validate_default=True)
    max_size: int | None = Field(None, ge=1, le=100, validate_default=True)

    @field_validator("instance_type", "min_size", "max_size")
    @classmethod
    def _defaults(cls, value, info: ValidationInfo):
        if value is not None:
            if info.field_name == "instance_type" and not _INSTANCE_TYPE.fullmatch(value):
                raise ValueError("must be an EC2 instance type such as t3a.small or c7g.large")
            return value
        if info.field_name != "instance_type" and cls.app in THROUGHPUT and info.data.get("instance_type"):
            return cls.derived_bounds(info)[info.field_name == "max_size"]
        dev, prod = cls.environment_defaults()
        index = ("instance_type", "min_size", "max_size").index(info.field_name)
        return environment_default(info, dev=dev[index], prod=prod[index])

    @classmethod
    def derived_bounds(cls, info: ValidationInfo) -> tuple[int, int]:
        """(min, max) instances for `snowplow:traffic` on this instance type (stack_config.capacity)."""
        cpu_target = info.data.get("cpu_target", DEFAULT_CPU_TARGET)
        return plan_from(info).instances(cls.app, info.data["instance_type"], cpu_target, shards_from(info))

    @classmethod
    def environment_defaults(cls) -> tuple[tuple[str, int, int], tuple[str, int, int]]:
        """(dev, prod) defaults of (instance type, min instances, max instances)."""
        return SIZE_DEFAULTS[cls.app]

    @model_validator(mode="after")
    def _bounds(self):
        if self.min_size > self.max_size:
            raise ValueError(f"minSize ({self.min_size}) must not exceed maxSize ({self.max_size})")
        return self


class EnrichSize(ServiceSize):
    app: ClassVar[str] = "enrich"


class EnrichedLoaderSize(ServiceSize):
    app: ClassVar[str] = "s3LoaderEnriched"


class BadLoaderSize(ServiceSize):
    app: ClassVar[str] = "s3LoaderBad"


def _size_field():
    return Field(default={}, validate_default=True)


class CookieConfig(ConfigModel):
    """The collector's network-user-id cookie; `secure` and `sameSite` follow whether the collector serves TLS."""

    enabled: bool = True
    name: Annotated[str, matching(r"[A-Za-z0-9_-]{1,64}", "must be 1-64 letters, digits, _ or -")] = "sp"
    expiration_days: int = Field(365, ge=1, le=730)
    domains: list[DomainName] = []
    fallback_domain: DomainName | None = None
    secure: bool | None = Field(None, validate_default=True)
    http_only: bool = True
    same_site: Literal["None", "Lax", "Strict"] | None = Field(None, validate_default=True)

    @field_validator("secure")
    @classmethod
    def _secure_needs_tls(cls, value, info: ValidationInfo):
        tls = (info.context or {}).get(TLS_CONTEXT, True)
        if value is None:
            return tls
        if value and not tls:
            raise ValueError(
                "a secure cookie is only sent over HTTPS and this collector serves plain HTTP, so browsers would "
                "drop it: set collector.certificateArn or collector.hostedZoneId for TLS, or leave secure unset"
            )
        return value

    @field_validator("same_site")
    @classmethod
    def _same_site_default(cls, value, info: ValidationInfo):
        secure = info.data.get("secure")
        if value is None:
            return "None" if secure else "Lax"
        if value == "None" and secure is False:
            raise ValueError(
                "sameSite None requires a secure cookie (browsers reject it otherwise), and secure needs TLS: "
                "use Lax or Strict without TLS"
            )
        return value


class CollectorBuffer(ConfigModel):
    """When the collector flushes records to Kinesis: whichever limit is reached first."""

    byte_limit: int = Field(3_145_728, ge=1_000, le=5_242_880)
    record_limit: int = Field(500, ge=1, le=500)
    time_limit_ms: int = Field(5_000, ge=1, le=60_000)


class CollectorConfig(ConfigModel):
    size: ServiceSize = _size_field()
    ingress_cidrs: IngressCidrs = Field(["0.0.0.0/0"], min_length=1)
    domain: DomainName | None = None
    hosted_zone_id: HostedZoneId | None = None
    certificate_arn: CertificateArn | None = None
    access_logs: bool | None = Field(None, validate_default=True)
    cookie: CookieConfig = Field(default={}, validate_default=True)
    custom_paths: dict[str, str] = {}
    buffer: CollectorBuffer = CollectorBuffer()

    @model_validator(mode="before")
    @classmethod
    def _tell_the_cookie_about_tls(cls, data, info: ValidationInfo):
        """The cookie's defaults depend on TLS, which is decided here: pass it down through the context."""
        if isinstance(data, dict) and info.context is not None:
            info.context[TLS_CONTEXT] = bool(data.get("certificateArn") or data.get("hostedZoneId"))
        return data

    @field_validator("access_logs")
    @classmethod
    def _access_logs_default(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, dev=False, prod=True)

    @field_validator("custom_paths")
    @classmethod
    def _paths(cls, value: dict[str, str]):
        for path, target in value.items():
            if not _CUSTOM_PATH.fullmatch(path):
                raise ValueError(
                    f"custom path {path!r} must be two segments with a leading slash, e.g. /com.acme/track"
                )
            if target not in _COLLECTOR_TARGETS:
                raise ValueError(f"custom path {path!r} must map to one of {', '.join(_COLLECTOR_TARGETS)}")
        return value

    @model_validator(mode="after")
    def _tls(self):
        if self.hosted_zone_id and not self.domain:
            raise ValueError("hostedZoneId needs domain: the certificate and alias record are for that name")
        if self.domain and not (self.hosted_zone_id or self.certificate_arn):
            raise ValueError("domain needs hostedZoneId (certificate issued and validated here) or certificateArn")
        return self

    @property
    def tls(self) -> bool:
        return bool(self.certificate_arn or self.hosted_zone_id)


class KclTable(ConfigModel):
    """Capacity of a KCL lease table in DynamoDB; provisioned capacity left unset is derived from the input
    stream's shards (stack_config.capacity)."""

    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    read_capacity: int | None = Field(None, ge=1, le=40_000, validate_default=True)
    write_capacity: int | None = Field(None, ge=1, le=40_000, validate_default=True)

    @field_validator("read_capacity", "write_capacity")
    @classmethod
    def _derived_capacity(cls, value, info: ValidationInfo):
        if value is not None:
            return value
        stream = (info.context or {}).get(INPUT_STREAM_CONTEXT, "raw")
        read, write = plan_from(info).lease_capacity(shards_from(info).get(stream, 1))
        return read if info.field_name == "read_capacity" else write


class LakeTransition(ConfigModel):
    days: int = Field(ge=1, le=3650)
    storage_class: Literal["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]


class LakeConfig(ConfigModel):
    """The S3 data lake: lifecycle of enriched and failed events."""

    transitions: list[LakeTransition] = [LakeTransition(days=30, storage_class="INTELLIGENT_TIERING")]
    noncurrent_expiration_days: int = Field(30, ge=1, le=3650)

    @field_validator("transitions")
    @classmethod
    def _ordered(cls, value: list[LakeTransition]):
        days = [t.days for t in value]
        if days != sorted(set(days)):
            raise ValueError(f"transition days must increase strictly (got {days})")
        return value


class ConsumerConfig(ConfigModel):
    """A Kinesis consumer app (enrich, loaders): its KCL lease table and where it starts reading."""

    input_stream: ClassVar[str] = "raw"

    lease_table: KclTable = Field(default={}, validate_default=True)
    initial_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"

    @model_validator(mode="before")
    @classmethod
    def _tell_the_lease_table_its_stream(cls, data, info: ValidationInfo):
        if info.context is not None:
            info.context[INPUT_STREAM_CONTEXT] = cls.input_stream
        return data


class LoaderBatching(ConfigModel):
    max_bytes: int = Field(67_108_864, ge=1_000_000, le=1_000_000_000)
    max_delay_seconds: int = Field(300, ge=10, le=3_600)


class EnrichedLoaderConfig(ConsumerConfig):
    input_stream: ClassVar[str] = "enriched"
    size: EnrichedLoaderSize = _size_field()
    batching: LoaderBatching = LoaderBatching()


class BadLoaderConfig(ConsumerConfig):
    input_stream: ClassVar[str] = "bad1"
    size: BadLoaderSize = _size_field()
    batching: LoaderBatching = LoaderBatching()


class LoadersConfig(ConfigModel):
    enriched: EnrichedLoaderConfig = _size_field()
    bad: BadLoaderConfig = _size_field()


class OperationsConfig(ConfigModel):
    """What every app instance shares: log retention and telemetry."""

    log_retention_days: int | None = Field(None, validate_default=True)
    ssh_cidrs: object = None  # removed; kept only to explain what replaced it
    telemetry: bool = False

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value, info: ValidationInfo):
        value = value if value is not None else environment_default(info, dev=7, prod=90)
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"must be one of CloudWatch's retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return value

    @field_validator("ssh_cidrs")
    @classmethod
    def _ssh_removed(cls, value):
        raise ValueError(
            "SSH was removed (instances have no key pair and no port 22); delete this key and connect with "
            "SSM Session Manager: aws ssm start-session --target <instance-id>"
        )


class EnrichConfig(ConsumerConfig):
    size: EnrichSize = _size_field()
    enrichments: EnrichmentsConfig = Field(default={}, validate_default=True)

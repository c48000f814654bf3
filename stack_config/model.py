"""Typed model of the `snowplow:*` stack configuration (YAML keys are camelCase)."""

import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from stack_config.analysis import AnalysisConfig, ModelingConfig, modeling_problems
from stack_config.apps import (
    DEFAULT_CPU_TARGET,
    BadLoaderSize,
    CollectorConfig,
    EnrichConfig,
    EnrichedLoaderSize,
    EnrichSize,
    LakeConfig,
    LoadersConfig,
    OperationsConfig,
    ServiceSize,
)
from stack_config.base import ConfigModel, matching
from stack_config.capacity import CAPACITY_CONTEXT, THROUGHPUT, CapacityPlan, TrafficConfig
from stack_config.destinations import DestinationsConfig, destination_problems
from stack_config.enrichments import SecretArn
from stack_config.iglu import IgluConfig
from stack_config.iglu_server import iglu_server_problems
from stack_config.observability import ObservabilityConfig, observability_problems
from stack_config.platform import NetworkConfig, StreamsConfig
from stack_config.sizes import PostgresLoaderSize
from stack_config.warehouses import DestinationSecrets, warehouse_problems

LICENSE_URL = "https://docs.snowplow.io/limited-use-license-1.1/"
RESERVED_TAG_KEYS = ("project", "stack", "environment", "Name")
# `aws:` is AWS's own; `snowplow:` tags are set by the program and read by the policy pack (snowplow:kcl-app, ...).
RESERVED_TAG_PREFIXES = ("aws:", "snowplow:")
MAX_USER_TAGS = 7
TAG_PUNCTUATION = "_.:/=+-@"


def _numbers_as_text(value):
    """YAML `cost-center: 1234` is a number; AWS tag values are text."""
    if isinstance(value, dict):
        return {k: str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for k, v in value.items()}
    return value


def tag_text_ok(text: str) -> bool:
    """AWS's tag alphabet `[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`: letters, separators (spaces), numbers and _.:/=+-@."""
    return all(c in TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def _tags(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_USER_TAGS:
        raise ValueError(
            f"at most {MAX_USER_TAGS} tags: S3 objects accept 10 and the program sets project, stack and environment"
        )
    allowed = f"letters, digits, spaces and {TAG_PUNCTUATION}"
    for key, tag_value in value.items():
        if key in RESERVED_TAG_KEYS:
            raise ValueError(f"tag key {key!r} is set by the program; reserved keys: {', '.join(RESERVED_TAG_KEYS)}")
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            raise ValueError(f"tag key {key!r} uses a reserved prefix ({' and '.join(RESERVED_TAG_PREFIXES)})")
        if not (1 <= len(key) <= 128 and tag_text_ok(key)):
            raise ValueError(f"tag key {key!r} must be 1-128 of {allowed}")
        if not (len(tag_value) <= 256 and tag_text_ok(tag_value)):
            raise ValueError(f"tag {key!r} value must be 0-256 of {allowed}")
    return value


KmsKeyArn = Annotated[
    str,
    matching(
        r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/"
        r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
        "must be the ARN of a KMS key (not an alias, no wildcards), such as "
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
]


class SecretsConfig(ConfigModel):
    """Secrets outside the stack's account or region that `*SecretArn` keys may name (exact ARNs, no wildcards),
    and the customer-managed KMS keys that encrypt referenced secrets.

    Instance roles are granted `secretsmanager:GetSecretValue` on every referenced secret, so by default only
    the stack's own account and region are accepted: a stack-file edit alone cannot send another account's
    secret to these hosts. A secret encrypted with a customer-managed key (always so for one read across
    accounts) is readable only with `kms:Decrypt` on that key as well: instances reading it get that, through
    Secrets Manager and for their referenced secrets only.
    """

    allowed_arns: list[SecretArn] = []
    kms_key_arns: list[KmsKeyArn] = []


class StackConfig(ConfigModel):
    """Everything under the `snowplow:` namespace of a stack file."""

    environment: Literal["dev", "prod"]
    accept_limited_use_license: bool
    # Validated before everything it sizes: shards, ASG bounds and lease tables read its plan from the context.
    traffic: TrafficConfig = Field(default={}, validate_default=True)
    network: NetworkConfig = Field(default={"create": {}}, validate_default=True)
    streams: StreamsConfig = Field(default={}, validate_default=True)
    tags: Annotated[dict[str, str], BeforeValidator(_numbers_as_text), AfterValidator(_tags)] = {}
    operations: OperationsConfig = Field(default={}, validate_default=True)
    collector: CollectorConfig = Field(default={}, validate_default=True)
    enrich: EnrichConfig = Field(default={}, validate_default=True)
    lake: LakeConfig = LakeConfig()
    loaders: LoadersConfig = Field(default={}, validate_default=True)
    iglu: IgluConfig = Field(default={}, validate_default=True)
    destinations: DestinationsConfig = Field(default={}, validate_default=True)
    destination_secrets: DestinationSecrets = DestinationSecrets()
    secrets: SecretsConfig = SecretsConfig()
    observability: ObservabilityConfig = Field(default={}, validate_default=True)
    analysis: AnalysisConfig = AnalysisConfig()
    modeling: ModelingConfig = ModelingConfig()

    @field_validator("accept_limited_use_license")
    @classmethod
    def _license(cls, value: bool):
        if value is not True:
            raise ValueError(
                "the Snowplow apps are under the Snowplow Limited Use License "
                f"({LICENSE_URL}); set it to true to accept it"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _note_consumer_types(cls, data, info: ValidationInfo):
        """Shards are validated before the apps that read them, yet a stream needs a shard per consumer
        instance: pass the consumers' instance types (set or default) ahead through the context."""
        if isinstance(data, dict) and info.context is not None:
            info.context[CONSUMERS_CONTEXT] = consumer_types(data, info.context.get("environment"))
        return data

    @field_validator("traffic")
    @classmethod
    def _plan_capacity(cls, value: TrafficConfig, info: ValidationInfo):
        if info.context is not None:
            consumers = info.context.get(CONSUMERS_CONTEXT, ())
            info.context[CAPACITY_CONTEXT] = CapacityPlan.of(value, info.context.get("environment"), consumers)
        return value

    @property
    def capacity(self) -> CapacityPlan:
        consumers = [
            (size.app, size.instance_type, size.cpu_target)
            for _, _, size in self.app_sizes()
            if size.app in THROUGHPUT and THROUGHPUT[size.app].input_stream
        ]
        return CapacityPlan.of(self.traffic, self.environment, consumers)

    @property
    def protect_data(self) -> bool:
        return self.environment == "prod"

    def app_sizes(self) -> list[tuple[str, str, ServiceSize]]:
        """(app, config key, size) of every app this stack runs: the event path and each enabled feature."""
        apps = [
            ("collector", "collector", self.collector.size, True),
            ("enrich", "enrich", self.enrich.size, True),
            ("loader-enriched", "loaders.enriched", self.loaders.enriched.size, True),
            ("loader-bad", "loaders.bad", self.loaders.bad.size, True),
            ("iglu-server", "iglu.server", self.iglu.server.size, self.iglu.server.enabled),
            (
                "postgres-loader",
                "destinations.postgres",
                self.destinations.postgres.size,
                self.destinations.postgres.enabled,
            ),
            *(
                (
                    f"redshift-{part}",
                    f"destinations.redshift.{part}",
                    getattr(self.destinations.redshift, part).size,
                    True,
                )
                for part in ("transformer", "loader")
                if self.destinations.redshift.enabled
            ),
            *(
                (f"{kind}-loader", f"destinations.{kind}", destination.size, destination.enabled)
                for kind, destination in (
                    ("snowflake", self.destinations.snowflake),
                    ("databricks", self.destinations.databricks),
                )
            ),
            (
                "elasticsearch-loader",
                "destinations.opensearch",
                self.destinations.opensearch.size,
                self.destinations.opensearch.enabled,
            ),
            (
                "elasticsearch-loader-bad",
                "destinations.opensearch.badRows",
                self.destinations.opensearch.bad_rows.size,
                self.destinations.opensearch.enabled and self.destinations.opensearch.bad_rows.enabled,
            ),
        ]
        return [(app, key, size) for app, key, size, enabled in apps if enabled]


CONSUMERS_CONTEXT = "consumerTypes"
# KCL consumers sized by traffic: (app, path of its section in the stack file, size model, needs `enabled`)
_CONSUMER_SECTIONS = (
    ("enrich", ("enrich",), EnrichSize, False),
    ("s3LoaderEnriched", ("loaders", "enriched"), EnrichedLoaderSize, False),
    ("s3LoaderBad", ("loaders", "bad"), BadLoaderSize, False),
    ("postgresLoader", ("destinations", "postgres"), PostgresLoaderSize, True),
)


def consumer_types(data: dict, environment: str | None) -> list[tuple[str, str, int]]:
    """(app, instance type, cpu target) of each KCL consumer, read from the raw stack file with the defaults
    filled in; values of the wrong shape are left to the field validators to report."""
    found = []
    for app, path, size_model, optional in _CONSUMER_SECTIONS:
        section = data
        for key in path:
            section = section.get(key) if isinstance(section, dict) else None
        section = section if isinstance(section, dict) else {}
        if optional and section.get("enabled") is not True:
            continue
        size = section.get("size") if isinstance(section.get("size"), dict) else {}
        dev, prod = size_model.environment_defaults()
        instance_type = size.get("instanceType")
        if not isinstance(instance_type, str) or "." not in instance_type:
            instance_type = (prod if environment == "prod" else dev)[0]
        cpu_target = size.get("cpuTarget")
        cpu_target = cpu_target if isinstance(cpu_target, int) and 20 <= cpu_target <= 90 else DEFAULT_CPU_TARGET
        found.append((app, instance_type, cpu_target))
    return found


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
    return (
        problems
        + iglu_server_problems(config)
        + destination_problems(config)
        + warehouse_problems(config)
        + observability_problems(config)
        + modeling_problems(config)
    )

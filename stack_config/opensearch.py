"""Typed model of `snowplow:destinations.opensearch` (an Amazon OpenSearch Service domain loaded by the Snowplow
Elasticsearch Loader) and of `snowplow:destinations.indicative` (not offered: the key explains why)."""

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from stack_config.apps import ConsumerConfig
from stack_config.base import ConfigModel, environment_default, matching
from stack_config.sizes import ElasticsearchBadRowsLoaderSize, ElasticsearchLoaderSize

# Versions Amazon OpenSearch Service offers and the loader (3.x: OpenSearch 1.x-3.x) writes to.
EngineVersion = Annotated[
    str,
    matching(
        r"OpenSearch_[123]\.[0-9]{1,2}",
        "must be an OpenSearch engine version the Elasticsearch Loader 3.x supports, such as OpenSearch_2.19",
    ),
]
# T2 search instances encrypt nothing at rest; every other family the service offers does.
SearchInstanceType = Annotated[
    str,
    matching(
        r"(?!t2\.)[a-z][a-z0-9-]*\.[a-z0-9]+\.search",
        "must be an OpenSearch Service instance type such as t3.small.search or r6g.large.search (not t2: it "
        "cannot encrypt at rest)",
    ),
]
IndexName = Annotated[
    str,
    matching(
        r"[a-z0-9][a-z0-9_-]{0,99}",
        "must be a lowercase index name: letters, digits, _ and -, starting with a letter or digit, at most 100",
    ),
]
RoleArn = Annotated[
    str,
    matching(
        r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}",
        "must be the exact ARN of an IAM role (no wildcards), such as arn:aws:iam::123456789012:role/analysts",
    ),
]
Cidr = Annotated[
    str,
    matching(
        r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}/(?:[0-9]|[12][0-9]|3[0-2])",
        "must be an IPv4 CIDR block such as 10.70.0.0/16",
    ),
]


class DedicatedMasters(ConfigModel):
    """Dedicated master nodes: 0 (none) or 3 (prod default), so the cluster keeps a quorum when one is lost."""

    count: Literal[0, 3, 5] | None = Field(None, validate_default=True)
    instance_type: SearchInstanceType = "m6g.large.search"

    @field_validator("count")
    @classmethod
    def _count_default(cls, value, info: ValidationInfo):
        return value if value is not None else environment_default(info, dev=0, prod=3)


class SearchDomainSize(ConfigModel):
    """Data nodes, their storage (gp3, per node) and whether they spread over availability zones."""

    instance_type: SearchInstanceType | None = Field(None, validate_default=True)
    instance_count: int | None = Field(None, ge=1, le=80, validate_default=True)
    volume_size_gb: int | None = Field(None, ge=10, le=16_384, validate_default=True)
    zone_awareness: Literal[False, 2, 3] | None = Field(None, validate_default=True)
    dedicated_masters: DedicatedMasters = Field(default={}, validate_default=True)

    @field_validator("instance_type", "instance_count", "volume_size_gb", "zone_awareness")
    @classmethod
    def _defaults(cls, value, info: ValidationInfo):
        if value is not None:
            return value
        dev, prod = SEARCH_DOMAIN_DEFAULTS
        index = ("instance_type", "instance_count", "volume_size_gb", "zone_awareness").index(info.field_name)
        return environment_default(info, dev=dev[index], prod=prod[index])

    @model_validator(mode="after")
    def _zones(self):
        if self.zone_awareness and self.instance_count % self.zone_awareness:
            raise ValueError(
                f"instanceCount ({self.instance_count}) must be a multiple of zoneAwareness "
                f"({self.zone_awareness}) so every zone holds the same number of data nodes"
            )
        return self


# (instance type, data nodes, GB of gp3 per node, zones): dev one small node, prod two memory-optimised nodes
# in two zones (plus three dedicated masters, see DedicatedMasters).
SEARCH_DOMAIN_DEFAULTS = (("t3.small.search", 1, 10, False), ("r6g.large.search", 2, 100, 2))


class BadRowsIndex(ConsumerConfig):
    """A second loader that indexes the bad-1 stream's failed events (bad rows) into their own index."""

    enabled: bool = False
    index: IndexName = "snowplow-bad"
    size: ElasticsearchBadRowsLoaderSize = Field(default={}, validate_default=True)


class OpenSearchDestination(ConsumerConfig):
    """Enriched events, one document each, in an OpenSearch Service domain inside the private subnets."""

    enabled: bool = False
    engine_version: EngineVersion = "OpenSearch_2.19"
    domain: SearchDomainSize = Field(default={}, validate_default=True)
    index: IndexName = "snowplow"
    bad_rows: BadRowsIndex = Field(default={}, validate_default=True)
    reader_role_arn: RoleArn | None = None
    client_cidrs: list[Cidr] = []
    size: ElasticsearchLoaderSize = Field(default={}, validate_default=True)
    max_records: int = Field(750, ge=1, le=10_000)
    # VPC domains need AWSServiceRoleForAmazonOpenSearchService; one per account, so created only when asked.
    create_service_linked_role: bool = False

    @model_validator(mode="after")
    def _distinct_indices(self):
        if self.bad_rows.enabled and self.bad_rows.index == self.index:
            raise ValueError(f"badRows.index must differ from index (both are {self.index!r})")
        return self


INDICATIVE_DECISION = (
    "not offered: the Snowplow Indicative Relay (snowplow-incubator/snowplow-indicative-relay) has had no commit "
    "since 2021-04-13 nor a release since 0.5.0 (2021-05-11), targets Java 8 and is absent from Snowplow's current "
    "documentation, so this stack does not host it; delete this key. For real-time analysis use "
    "snowplow:destinations.opensearch, or load a warehouse (snowplow:destinations.*) and connect your analytics "
    "tool to it (see README, Destinations)"
)


def indicative_problem(value: object) -> str | None:
    """`destinations.indicative` set to anything: the decision, without echoing the value (it may hold an API key)."""
    if value is None:
        return None
    return f"snowplow:destinations.indicative: {INDICATIVE_DECISION} (got a value, not shown)"

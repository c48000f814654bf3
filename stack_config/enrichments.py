"""Typed model of `snowplow:enrich.enrichments`: each enrichment is `true`, `false` or its Iglu `parameters`.

Parameter names are those of the enrichment's Iglu schema, except secrets: the stack config names a
Secrets Manager secret (`apiKeySecretArn`, `passwordSecretArn`, `saltSecretArn`), never the value.
"""

import re
import typing
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from stack_config.base import ConfigModel, NonEmptyStr, matching

# Documented hosted copies, fetched over HTTPS so no cross-account S3 grant or cross-region S3 client is needed.
REFERER_PARSER_URI = "https://s3-eu-west-1.amazonaws.com/snowplow-hosted-assets/third-party/referer-parser/"
REFERER_PARSER_DATABASE = "referers-5.3.json"
UA_PARSER_URI = "https://s3-eu-west-1.amazonaws.com/snowplow-hosted-assets/third-party/ua-parser/"
UA_PARSER_DATABASE = "regexes-latest.yaml"

_S3_URI = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9/_.=+-]*)?"
_HTTPS_URI = r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9/_.~%=+-]*)?"
_IGLU_URI = r"iglu:[a-zA-Z0-9_.-]+/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/[1-9][0-9]*(-(0|[1-9][0-9]*)){2}"
_SCHEMA_CRITERION = (
    r"iglu:[a-zA-Z0-9_.-]+/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/([1-9][0-9]*|\*)-(0|[1-9][0-9]*|\*)-(0|[1-9][0-9]*|\*)"
)
_URI_KEY = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")

SecretArn = Annotated[
    str,
    matching(
        # The full ARN: the name, `-` and the six characters Secrets Manager appends. IAM matches a secret by
        # its full ARN, so a grant on a partial one would deny the instance at boot.
        r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}",
        "must be the full ARN of a Secrets Manager secret, ending in the six characters Secrets Manager appends "
        "to its name (instance roles are granted exactly this ARN), such as "
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/pii-salt-AbCdEf; "
        "store the value in Secrets Manager, never in stack config",
    ),
]
AssetUri = Annotated[
    str,
    matching(
        f"{_S3_URI}|{_HTTPS_URI}",
        "must be the folder holding the file: s3://<bucket>/<prefix> (a bucket in Enrich's region) "
        "or https://<host>/<path>; letters, digits and / _ . = + - only (no wildcards, quotes or spaces)",
    ),
]
FileName = Annotated[
    str, matching(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}", "must be a file name: letters, digits and _ . - only")
]
IgluUri = Annotated[str, matching(_IGLU_URI, "must be an Iglu schema URI such as iglu:com.acme/user/jsonschema/1-0-0")]
SchemaCriterion = Annotated[
    str,
    matching(_SCHEMA_CRITERION, "must be an Iglu schema criterion such as iglu:com.acme/user/jsonschema/1-*-*"),
]
JsonPath = Annotated[
    str, matching(r"\$[^\x00-\x1f\x7f]*", "must be a JSONPath starting with $, e.g. $.user.id (one line)")
]
Cookie = Annotated[str, Field(min_length=1)]


class AssetFile(ConfigModel):
    """A database file Enrich downloads at start-up and refreshes every `assetsUpdatePeriod`."""

    uri: AssetUri
    database: str

    @model_validator(mode="after")
    def _uri_is_the_folder(self):
        if self.uri.rstrip("/").endswith("/" + self.database):
            raise ValueError(f"`uri` is the folder holding {self.database}; remove the file name from it")
        return self

    def location(self) -> str:
        return f"{self.uri.rstrip('/')}/{self.database}"


class Parameters(ConfigModel):
    """`parameters` of one enrichment; `needs` says what to set when `true` alone cannot work."""

    needs: ClassVar[str | None] = None


# --- the five quick-start defaults -------------------------------------------------------------


class CampaignFields(ConfigModel):
    mkt_medium: list[str] = ["utm_medium"]
    mkt_source: list[str] = ["utm_source"]
    mkt_term: list[str] = ["utm_term"]
    mkt_content: list[str] = ["utm_content"]
    mkt_campaign: list[str] = ["utm_campaign"]
    mkt_click_id: dict[str, str] | None = None


class CampaignAttribution(Parameters):
    fields: CampaignFields = CampaignFields()


class EventFingerprint(Parameters):
    hash_algorithm: Literal["MD5", "SHA1", "SHA256", "SHA384", "SHA512"] = "MD5"
    exclude_parameters: list[str] = ["cv", "eid", "nuid", "stm"]


class ReferrerSource(ConfigModel):
    domains: list[NonEmptyStr] = Field(min_length=1)
    parameters: list[str] | None = None


class RefererParser(Parameters, AssetFile):
    uri: AssetUri = REFERER_PARSER_URI
    database: FileName = REFERER_PARSER_DATABASE
    internal_domains: list[str] = []
    referrers: dict[str, dict[str, ReferrerSource]] | None = None  # medium -> source name -> match rule


class UaParser(Parameters, AssetFile):
    uri: AssetUri = UA_PARSER_URI
    database: FileName = UA_PARSER_DATABASE


class Yauaa(Parameters):
    cache_size: int | None = Field(None, ge=0)


# --- available, off by default ------------------------------------------------------------------


class AnonIp(Parameters):
    needs = "anonOctets (IPv4 octets to mask, 1-4) and optionally anonSegments (IPv6 segments, 1-8)"
    anon_octets: int = Field(ge=1, le=4)
    anon_segments: int | None = Field(None, ge=1, le=8)


class GeoDatabase(AssetFile):
    database: Literal["GeoLite2-City.mmdb", "GeoIP2-City.mmdb"] = "GeoLite2-City.mmdb"


class IspDatabase(AssetFile):
    database: Literal["GeoIP2-ISP.mmdb"] = "GeoIP2-ISP.mmdb"


class DomainDatabase(AssetFile):
    database: Literal["GeoIP2-Domain.mmdb"] = "GeoIP2-Domain.mmdb"


class ConnectionTypeDatabase(AssetFile):
    database: Literal["GeoIP2-Connection-Type.mmdb"] = "GeoIP2-Connection-Type.mmdb"


class AsnDatabase(AssetFile):
    database: Literal["GeoLite2-ASN.mmdb"] = "GeoLite2-ASN.mmdb"


class IpLookups(Parameters):
    needs = "at least one MaxMind database, e.g. geo: {uri: s3://<bucket>/<prefix>} (database GeoLite2-City.mmdb)"
    geo: GeoDatabase | None = None
    isp: IspDatabase | None = None
    domain: DomainDatabase | None = None
    connection_type: ConnectionTypeDatabase | None = None
    asn: AsnDatabase | None = None

    @model_validator(mode="after")
    def _some_database(self):
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError(f"set {self.needs}")
        return self


class IabIpFile(AssetFile):
    database: Literal["ip_exclude_current_cidr.txt"] = "ip_exclude_current_cidr.txt"


class IabExcludeUseragentFile(AssetFile):
    database: Literal["exclude_current.txt"] = "exclude_current.txt"


class IabIncludeUseragentFile(AssetFile):
    database: Literal["include_current.txt"] = "include_current.txt"


class IabSpidersAndRobots(Parameters):
    needs = "ipFile, excludeUseragentFile and includeUseragentFile, each {uri: s3://<bucket>/<prefix>} of the IAB files"
    ip_file: IabIpFile
    exclude_useragent_file: IabExcludeUseragentFile
    include_useragent_file: IabIncludeUseragentFile
    include_useragents: list[str] | None = None
    exclude_useragents: list[str] | None = None


class PojoInput(ConfigModel):
    field: NonEmptyStr


class JsonInput(ConfigModel):
    field: Literal["unstruct_event", "contexts", "derived_contexts"]
    schema_criterion: SchemaCriterion
    json_path: JsonPath


class OneSource(ConfigModel):
    """An event value read either from an atomic field (`pojo`) or from a JSON field (`json`)."""

    pojo: PojoInput | None = None
    json_: JsonInput | None = Field(None, alias="json")

    @model_validator(mode="after")
    def _exactly_one_source(self):
        if (self.pojo is None) == (self.json_ is None):
            raise ValueError("set exactly one of `pojo` (atomic field) or `json` (JSON field)")
        return self


PiiAtomicField = Literal[
    "user_id",
    "user_ipaddress",
    "user_fingerprint",
    "domain_userid",
    "network_userid",
    "ip_organization",
    "ip_domain",
    "tr_orderid",
    "ti_orderid",
    "mkt_term",
    "mkt_content",
    "se_category",
    "se_action",
    "se_label",
    "se_property",
    "mkt_clickid",
    "refr_domain_userid",
    "domain_sessionid",
]


class PiiPojo(ConfigModel):
    field: PiiAtomicField


class PiiField(OneSource):
    pojo: PiiPojo | None = None


class Pseudonymize(ConfigModel):
    hash_function: Literal["MD2", "MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"]
    salt_secret_arn: SecretArn


class PiiStrategy(ConfigModel):
    pseudonymize: Pseudonymize


class PiiPseudonymization(Parameters):
    """`anonymousOnly` sits beside the other parameters here; it is written at the top of the file's `data`."""

    needs = "pii (fields to hash) and strategy: {pseudonymize: {hashFunction, saltSecretArn}}"
    pii: list[PiiField] = Field(min_length=1)
    strategy: PiiStrategy
    anonymous_only: bool | None = None


class CookieExtractor(Parameters):
    needs = "cookies (names of the cookies to extract)"
    cookies: list[Cookie] = Field(min_length=1)


class HttpHeaderExtractor(Parameters):
    needs = "headersPattern (a regex of header names, e.g. (?i)^host$)"
    headers_pattern: NonEmptyStr


class CurrencyConversion(Parameters):
    needs = "apiKeySecretArn (Open Exchange Rates key in Secrets Manager), baseCurrency and accountType"
    api_key_secret_arn: SecretArn
    base_currency: Annotated[str, matching(r"[A-Z]{3}", "must be an ISO 4217 currency code such as EUR")]
    rate_at: Literal["EOD_PRIOR"] = "EOD_PRIOR"
    account_type: Literal["DEVELOPER", "ENTERPRISE", "UNLIMITED"]


class JavascriptScript(Parameters):
    """`script` is plain JavaScript source; the rendered file carries it base64-encoded, as Enrich expects."""

    needs = "script (JavaScript source defining function process(event))"
    script: NonEmptyStr
    config: dict[str, Any] | None = None

    @field_validator("script")
    @classmethod
    def _defines_process(cls, value: str):
        if not re.search(r"\bprocess\b", value):
            raise ValueError("the script must define a function named process(event)")
        return value


class Cache(ConfigModel):
    size: int = Field(ge=1)
    ttl: int = Field(ge=0, le=86400)


class ApiInput(OneSource):
    key: Annotated[str, matching(r"[A-Za-z0-9_-]{1,64}", "must be 1-64 letters, digits, _ or -")]


class HttpBasic(ConfigModel):
    username: str
    password_secret_arn: SecretArn


class ApiAuthentication(ConfigModel):
    http_basic: HttpBasic | None = None


class HttpApi(ConfigModel):
    method: Literal["GET", "POST", "PUT"]
    uri: Annotated[
        str,
        matching(
            r"https?://[^\s\x00-\x1f\x7f]+",
            "must be an http(s) URL without spaces, e.g. https://api.acme.com/users/{{id}}",
        ),
    ]
    timeout: int = Field(ge=1, le=60000)
    authentication: ApiAuthentication = ApiAuthentication()


class Api(ConfigModel):
    http: HttpApi


class OutputJson(ConfigModel):
    json_path: JsonPath


class ApiOutput(ConfigModel):
    schema_: IgluUri = Field(alias="schema")
    json_: OutputJson = Field(alias="json")


class ApiRequest(Parameters):
    needs = "inputs, api: {http: {method, uri, timeout}}, outputs and cache: {size, ttl}"
    inputs: list[ApiInput]
    api: Api
    outputs: list[ApiOutput] = Field(min_length=1)
    cache: Cache
    ignore_on_error: bool | None = None

    @model_validator(mode="after")
    def _uri_keys_are_inputs(self):
        known = {i.key for i in self.inputs}
        missing = [k for k in _URI_KEY.findall(self.api.http.uri) if k not in known]
        if missing:
            raise ValueError(f"api.http.uri uses {{{{{missing[0]}}}}} but no input has key {missing[0]!r}")
        return self


class SqlInput(OneSource):
    placeholder: int = Field(ge=1, le=64)


class SqlConnection(ConfigModel):
    host: Annotated[
        str, matching(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", "must be a host name or IPv4 address")
    ]
    port: int = Field(ge=1, le=65535)
    ssl_mode: bool = True
    username: NonEmptyStr
    password_secret_arn: SecretArn
    database: NonEmptyStr


class SqlDatabase(ConfigModel):
    postgresql: SqlConnection | None = None
    mysql: SqlConnection | None = None

    @model_validator(mode="after")
    def _exactly_one_engine(self):
        if (self.postgresql is None) == (self.mysql is None):
            raise ValueError("set exactly one of `postgresql` or `mysql`")
        return self


class SqlQuery(ConfigModel):
    sql: NonEmptyStr


class SqlOutputJson(ConfigModel):
    schema_: IgluUri = Field(alias="schema")
    property_names: Literal["AS_IS", "CAMEL_CASE", "PASCAL_CASE", "SNAKE_CASE", "LOWER_CASE", "UPPER_CASE"]
    describes: Literal["ALL_ROWS", "EVERY_ROW"]


class SqlOutput(ConfigModel):
    expected_rows: Literal["AT_LEAST_ONE", "AT_LEAST_ZERO", "AT_MOST_ONE", "EXACTLY_ONE"]
    json_: SqlOutputJson = Field(alias="json")


class SqlQueryEnrichment(Parameters):
    needs = "inputs, database: {postgresql|mysql: {...}}, query: {sql}, output and cache: {size, ttl}"
    inputs: list[SqlInput]
    database: SqlDatabase
    query: SqlQuery
    output: SqlOutput
    cache: Cache
    ignore_on_error: bool | None = None


# --- the config key -----------------------------------------------------------------------------


class EnrichmentsConfig(ConfigModel):
    """Keys are Enrich's enrichment names; the first five are on unless set to `false`."""

    campaign_attribution: CampaignAttribution | None = Field(CampaignAttribution(), alias="campaign_attribution")
    event_fingerprint_config: EventFingerprint | None = Field(EventFingerprint(), alias="event_fingerprint_config")
    referer_parser: RefererParser | None = Field(RefererParser(), alias="referer_parser")
    ua_parser_config: UaParser | None = Field(UaParser(), alias="ua_parser_config")
    yauaa_enrichment_config: Yauaa | None = Field(Yauaa(), alias="yauaa_enrichment_config")
    anon_ip: AnonIp | None = Field(None, alias="anon_ip")
    pii_enrichment_config: PiiPseudonymization | None = Field(None, alias="pii_enrichment_config")
    ip_lookups: IpLookups | None = Field(None, alias="ip_lookups")
    iab_spiders_and_robots_enrichment: IabSpidersAndRobots | None = Field(
        None, alias="iab_spiders_and_robots_enrichment"
    )
    cookie_extractor_config: CookieExtractor | None = Field(None, alias="cookie_extractor_config")
    http_header_extractor_config: HttpHeaderExtractor | None = Field(None, alias="http_header_extractor_config")
    currency_conversion_config: CurrencyConversion | None = Field(None, alias="currency_conversion_config")
    javascript_script_config: JavascriptScript | None = Field(None, alias="javascript_script_config")
    api_request_enrichment_config: ApiRequest | None = Field(None, alias="api_request_enrichment_config")
    sql_query_enrichment_config: SqlQueryEnrichment | None = Field(None, alias="sql_query_enrichment_config")

    @field_validator("*", mode="before")
    @classmethod
    def _switch_or_parameters(cls, value, info: ValidationInfo):
        if value is False:
            return None
        if value is True:
            parameters = parameters_model(info.field_name)
            if parameters.needs:
                raise ValueError(f"`true` is not enough here: set {parameters.needs}")
            return {}
        if isinstance(value, (dict, Parameters)):
            return value
        raise ValueError("must be true, false or a mapping of the enrichment's parameters")

    def enabled(self) -> dict[str, Parameters]:
        """Enabled enrichments by name, in a stable order."""
        return {name: getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None}

    def enabled_names(self) -> list[str]:
        return list(self.enabled())

    def secret_arns(self) -> list[str]:
        """Every Secrets Manager secret the rendered files reference."""
        arns = {
            getattr(model, name)
            for model in self._models()
            for name in type(model).model_fields
            if name.endswith("_secret_arn") and getattr(model, name)
        }
        return sorted(arns)

    def s3_asset_uris(self) -> list[str]:
        """Every s3:// object Enrich downloads (grant s3:GetObject on each)."""
        return sorted({m.location() for m in self._models() if isinstance(m, AssetFile) and m.uri.startswith("s3://")})

    def _models(self) -> Iterator[ConfigModel]:
        for parameters in self.enabled().values():
            yield from _walk(parameters)


def parameters_model(name: str) -> type[Parameters]:
    """The parameters model of enrichment `name`."""
    annotation = EnrichmentsConfig.model_fields[name].annotation
    return next(a for a in typing.get_args(annotation) if a is not type(None))


def _walk(value) -> Iterator[ConfigModel]:
    if isinstance(value, ConfigModel):
        yield value
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)

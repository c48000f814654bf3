"""Enrich's `enrichments/` folder: one self-describing JSON document per enabled enrichment.

Secrets appear as `{{resolve:secretsmanager:<arn>}}`; the instance boot script swaps in the secret's value
(JSON-escaped) before Enrich starts, so no secret is ever part of the Pulumi state or user data.
"""

import base64

from stack_config.base import ConfigModel
from stack_config.enrichments import EnrichmentsConfig, Parameters

SECRET_PLACEHOLDER = "{{{{resolve:secretsmanager:{arn}}}}}"

# Newest Iglu Central version of each config schema; Enrich 6 accepts any `<model>-0-*` of these.
SCHEMAS: dict[str, tuple[str, str]] = {
    "campaign_attribution": ("com.snowplowanalytics.snowplow", "1-0-1"),
    "event_fingerprint_config": ("com.snowplowanalytics.snowplow", "1-0-1"),
    "referer_parser": ("com.snowplowanalytics.snowplow", "2-0-1"),
    "ua_parser_config": ("com.snowplowanalytics.snowplow", "1-0-1"),
    "yauaa_enrichment_config": ("com.snowplowanalytics.snowplow.enrichments", "1-0-0"),
    "anon_ip": ("com.snowplowanalytics.snowplow", "1-0-1"),
    "pii_enrichment_config": ("com.snowplowanalytics.snowplow.enrichments", "2-0-1"),
    "ip_lookups": ("com.snowplowanalytics.snowplow", "2-0-1"),
    "iab_spiders_and_robots_enrichment": ("com.snowplowanalytics.snowplow.enrichments", "1-0-1"),
    "cookie_extractor_config": ("com.snowplowanalytics.snowplow", "1-0-0"),
    "http_header_extractor_config": ("com.snowplowanalytics.snowplow.enrichments", "1-0-0"),
    "currency_conversion_config": ("com.snowplowanalytics.snowplow", "1-0-0"),
    "javascript_script_config": ("com.snowplowanalytics.snowplow", "1-0-1"),
    "api_request_enrichment_config": ("com.snowplowanalytics.snowplow.enrichments", "1-0-2"),
    "sql_query_enrichment_config": ("com.snowplowanalytics.snowplow.enrichments", "1-0-1"),
}


def secret_placeholder(arn: str) -> str:
    return SECRET_PLACEHOLDER.format(arn=arn)


def render_enrichments(config: EnrichmentsConfig) -> dict[str, dict]:
    """`<name>.json` -> document, for every enabled enrichment."""
    return {f"{name}.json": render_enrichment(name, parameters) for name, parameters in config.enabled().items()}


def render_enrichment(name: str, parameters: Parameters) -> dict:
    vendor, version = SCHEMAS[name]
    values = iglu_values(parameters)
    data = {"name": name, "vendor": vendor, "enabled": True}
    if name == "pii_enrichment_config":
        data["emitEvent"] = False  # required by the schema, ignored by Enrich
        if "anonymousOnly" in values:
            data["anonymousOnly"] = values.pop("anonymousOnly")
    if name == "javascript_script_config":
        values["script"] = base64.b64encode(values["script"].encode()).decode()
    if values:
        data["parameters"] = values
    return {"schema": f"iglu:{vendor}/{name}/jsonschema/{version}", "data": data}


def iglu_values(model: ConfigModel) -> dict:
    """The model as its Iglu schema spells it: aliases, unset fields left out, `xSecretArn` -> `x` placeholder."""
    values = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        if name.endswith("_secret_arn"):
            values[field.alias.removesuffix("SecretArn")] = secret_placeholder(value)
        else:
            values[field.alias] = _plain(value)
    return values


def _plain(value):
    if isinstance(value, ConfigModel):
        return iglu_values(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def asset_locations(documents: dict[str, dict]) -> list[str]:
    """Every file Enrich downloads (`uri` folder + `database` file) named in the rendered enrichments."""
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("uri"), str) and isinstance(value.get("database"), str):
                found.add(f"{value['uri'].rstrip('/')}/{value['database']}")
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(documents)
    return sorted(found)

"""Enrich's `iglu_resolver.json`: Iglu Central over HTTPS plus the stack's private registries."""

from components.apps.enrichment_files import secret_placeholder
from stack_config.iglu import IGLU_CENTRAL_NAME, IgluConfig, IgluRegistry

RESOLVER_SCHEMA = "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3"
IGLU_CENTRAL_URI = "https://iglucentral.com"
IGLU_CENTRAL_PRIORITY = 10  # lower is checked first: private registries (default 0) win for their own vendors


def render_resolver(config: IgluConfig) -> dict:
    iglu_central = {
        "name": IGLU_CENTRAL_NAME,
        "priority": IGLU_CENTRAL_PRIORITY,
        "vendorPrefixes": ["com.snowplowanalytics"],
        "connection": {"http": {"uri": IGLU_CENTRAL_URI}},
    }
    return {
        "schema": RESOLVER_SCHEMA,
        "data": {
            "cacheSize": config.cache_size,
            "cacheTtl": config.cache_ttl,
            "repositories": [iglu_central, *(_repository(r) for r in config.registries)],
        },
    }


def _repository(registry: IgluRegistry) -> dict:
    http = {"uri": registry.uri}
    if registry.api_key_secret_arn:
        http["apikey"] = secret_placeholder(registry.api_key_secret_arn)
    return {
        "name": registry.name,
        "priority": registry.priority,
        "vendorPrefixes": list(registry.vendor_prefixes),
        "connection": {"http": http},
    }

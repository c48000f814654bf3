"""Enrich's `iglu_resolver.json`: Iglu Central over HTTPS, the stack's own Iglu Server, private registries."""

from dataclasses import dataclass

from components.apps.enrichment_files import secret_placeholder
from stack_config.iglu import IGLU_CENTRAL_NAME, IgluConfig, IgluRegistry
from stack_config.iglu_server import OWN_REGISTRY_NAME

RESOLVER_SCHEMA = "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3"
IGLU_CENTRAL_URI = "https://iglucentral.com"
IGLU_CENTRAL_PRIORITY = 10  # lower is checked first: private registries (default 0) win for their own vendors


@dataclass(frozen=True)
class OwnServer:
    """The stack's Iglu Server: `api_uri` ends in /api; read with the key held in `read_key_secret_arn`."""

    api_uri: str
    read_key_secret_arn: str


def render_resolver(config: IgluConfig, own: OwnServer | None = None) -> dict:
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
            "repositories": [
                iglu_central,
                *([_own(own)] if own else []),
                *(_repository(r) for r in config.registries),
            ],
        },
    }


def _own(own: OwnServer) -> dict:
    """First for every vendor (priority 0, no prefix): it holds the user's schemas and may mirror Iglu Central."""
    return repository_entry(OWN_REGISTRY_NAME, own.api_uri, own.read_key_secret_arn)


def _repository(registry: IgluRegistry) -> dict:
    return repository_entry(
        registry.name, registry.uri, registry.api_key_secret_arn, registry.priority, registry.vendor_prefixes
    )


def repository_entry(
    name: str, uri: str, api_key_secret_arn: str | None, priority: int = 0, vendor_prefixes=()
) -> dict:
    """One HTTP repository of a resolver config; its API key as a placeholder the instance resolves at boot."""
    http = {"uri": uri}
    if api_key_secret_arn:
        http["apikey"] = secret_placeholder(api_key_secret_arn)
    return {
        "name": name,
        "priority": priority,
        "vendorPrefixes": list(vendor_prefixes),
        "connection": {"http": http},
    }

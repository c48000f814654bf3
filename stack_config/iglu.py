"""Typed model of `snowplow:iglu`: the private schema registries Enrich's Iglu resolver reads besides Iglu Central."""

import re
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from stack_config.base import ConfigModel, NonEmptyStr, matching
from stack_config.enrichments import SecretArn
from stack_config.iglu_server import IgluServerConfig

IGLU_CENTRAL_NAME = "Iglu Central"
_URI = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9/_.~%=+-]*)?", re.ASCII)

VendorPrefix = Annotated[str, matching(r"[a-zA-Z0-9_.-]+", "must be a schema vendor such as com.acme")]


class IgluRegistry(ConfigModel):
    """One registry. An Iglu Server's `uri` ends in `/api` (https://iglu.example.com/api); a static registry's doesn't.

    `apiKeySecretArn` names a Secrets Manager secret holding a READ key created for Enrich with the
    server's `/api/auth/keygen`. Never store the Iglu Server super key there: it can write and delete schemas.
    """

    name: NonEmptyStr
    uri: str
    priority: int = Field(0, ge=0)
    vendor_prefixes: list[VendorPrefix] = []
    api_key_secret_arn: SecretArn | None = None
    allow_insecure: bool = False

    @field_validator("uri")
    @classmethod
    def _absolute_uri(cls, value: str):
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (the resolver needs the scheme): https://iglu.example.com/api")
        if value.endswith("/"):
            raise ValueError("remove the trailing / (the resolver appends /schemas/...)")
        if not _URI.fullmatch(value):
            raise ValueError("must be a URL such as https://iglu.example.com/api, without query or fragment")
        return value

    @model_validator(mode="after")
    def _transport_and_key(self):
        if self.uri.startswith("http://") and not self.allow_insecure:
            raise ValueError(f"{self.uri} is plain http: use https://, or set allowInsecure: true to accept the risk")
        if self.api_key_secret_arn and not self.uri.endswith("/api"):
            raise ValueError(
                "an API key is only used by an Iglu Server, whose resolver uri ends in /api "
                f"(e.g. {self.uri}/api); static registries take no key"
            )
        return self


class IgluConfig(ConfigModel):
    """Iglu Central (HTTPS) is always included; `registries` adds private ones, `server` the stack's own."""

    server: IgluServerConfig = Field(default={}, validate_default=True)
    registries: list[IgluRegistry] = []
    cache_size: int = Field(500, ge=1)
    cache_ttl: int = Field(600, ge=0)

    @field_validator("registries")
    @classmethod
    def _unique_names(cls, value: list[IgluRegistry]):
        names = [r.name for r in value]
        if IGLU_CENTRAL_NAME in names:
            raise ValueError(f"{IGLU_CENTRAL_NAME!r} is always included; give private registries other names")
        if len(set(names)) != len(names):
            raise ValueError("registry names must not repeat")
        return value

    def secret_arns(self) -> list[str]:
        """Every Secrets Manager secret the resolver file references."""
        return sorted({r.api_key_secret_arn for r in self.registries if r.api_key_secret_arn})

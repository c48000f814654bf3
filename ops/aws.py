"""boto3 clients for the operator tools: short timeouts, few retries, errors as one readable line."""

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

# A tool that waits minutes on an unreachable endpoint is worse than one that says so: boto3's defaults are a 60 s
# connect timeout with retries. boto3 reads AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) itself, so the same
# commands run against a local AWS fake.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})

AWS_ERRORS = (BotoCoreError, ClientError)


# Service models are big JSON files; one loader shares them between sessions (credentials stay per session).
_MODELS = botocore.loaders.create_loader()


class Clients:
    """boto3 clients for one run: one session (credentials resolved once), one client per service and region."""

    def __init__(self, region: str):
        core = botocore.session.get_session()
        core.register_component("data_loader", _MODELS)
        self.region = region
        self.session = boto3.session.Session(botocore_session=core, region_name=region)
        self._clients: dict[tuple[str, str], object] = {}

    def __call__(self, service: str, region: str | None = None):
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=key[1], config=CLIENT_CONFIG)
        return self._clients[key]


def error_code(err: Exception) -> str:
    """The AWS error code of a ClientError, else the exception's class name."""
    if isinstance(err, ClientError):
        return err.response.get("Error", {}).get("Code", "ClientError")
    return type(err).__name__


def describe_error(err: Exception) -> str:
    """One line that says what went wrong with an AWS call, never a stack trace."""
    if isinstance(err, NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use SSO)"
    if isinstance(err, NoRegionError):
        return "no AWS region (pass --region or set AWS_REGION)"
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', str(err))}"
    return f"{type(err).__name__}: {err}"


def region_from_arn(arn: str | None) -> str | None:
    """`arn:partition:service:region:account:resource` -> region (None when the ARN has none)."""
    parts = (arn or "").split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts[3] or None

"""The only reader of Pulumi config: validates it and returns typed settings."""

import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from stack_config.capacity import capacity_notes
from stack_config.model import StackConfig, consistency_problems
from stack_config.regions import region_problem, resolve_region
from stack_config.screening import forgotten_path_problem, text_problem, walk
from stack_config.secrecy import MASK, SECRET_CAPABLE_KEYS, SECRET_ONLY_KEYS, UNDECRYPTED, Secrecy
from stack_config.secret_refs import ALLOWLIST_KEY, KMS_KEYS_KEY, foreign_secret_reasons, place_of, secret_arn_fields

NAMESPACE = "snowplow"
# Physical names are `<project>-<stack>-<thing>`; the longest, `<prefix>-app-config-<account id>`,
# must fit S3's 63 lowercase characters.
MAX_PREFIX = 63 - len("-app-config-") - 12
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*", re.ASCII)


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; raised before any resource is registered."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Deployment:
    """Validated settings for one stack, handed to components as plain values."""

    project: str
    stack: str
    region: str
    config: StackConfig
    secret_keys: frozenset[str] = frozenset()  # top-level keys set with --secret, e.g. {"enrich"}
    notes: tuple[str, ...] = field(default=())  # warnings to show the user (the config is still valid)

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"


def _decode(value: Any) -> Any:
    """Config values reach the program as strings; structured YAML arrives as JSON text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _namespace_keys(namespace: str) -> set[str]:
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    return {k for k in keys if k.startswith(namespace + ":")}


def raw_namespace(namespace: str = NAMESPACE) -> dict[str, Any]:
    """Every `<namespace>:<key>` the engine passed in, decoded."""
    prefix = namespace + ":"
    return {k[len(prefix) :]: _decode(runtime_config.get_config(k)) for k in sorted(_namespace_keys(namespace))}


def secret_namespace_keys(namespace: str = NAMESPACE) -> frozenset[str]:
    """Keys of the namespace the engine marks secret (`--secret`, or a `--secret --path` leaf inside them).

    The CLI's language host passes them in PULUMI_CONFIG_SECRET_KEYS; the automation API and mocks set them
    in the SDK's config store. Both are read.
    """
    prefix = namespace + ":"
    keys = set(runtime_config.get_config_secret_keys_env()) | {
        k for k in _namespace_keys(namespace) if runtime_config.is_config_secret(k)
    }
    return frozenset(k[len(prefix) :] for k in keys if k.startswith(prefix))


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated/Union wrappers down to the first concrete type."""
    while typing.get_origin(annotation) in (typing.Union, typing.Annotated) or (
        typing.get_origin(annotation) is not None and type(None) in typing.get_args(annotation)
    ):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _model_at(model: type, path: tuple) -> type | None:
    """The model class reached by following a validation-error path of aliases, list indexes and dict keys."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (list, dict):
            current = typing.get_args(current)[-1]  # this part is an index or a key
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field_info = next((f for f in current.model_fields.values() if f.alias == part), None)
        if field_info is None:
            return None
        current = field_info.annotation
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_/-][A-Za-z0-9_/@+=-]*", re.ASCII)
MAX_SEGMENT = 64


def key_path(namespace: str, loc: tuple) -> str:
    """`snowplow:a.b[0]`, in the `--path` syntax; other key names quoted as `["..."]` (escaped, shortened)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif len(str(part)) <= MAX_SEGMENT and _PLAIN_SEGMENT.fullmatch(str(part)):
            path += f".{part}" if path else str(part)
        else:
            text = str(part) if len(str(part)) <= MAX_SEGMENT else str(part)[:MAX_SEGMENT] + "..."
            path += f"[{json.dumps(text)}]"
    return f"{namespace}:{path}" if path else namespace


def _contains(value: Any, text: str) -> bool:
    return any(found == text for _, found in walk(value)) or value == text


def describe(
    error: ValidationError, namespace: str = NAMESPACE, root: type = StackConfig, secrecy: Secrecy | None = None
) -> list[str]:
    """One line per problem: full key, the offending value (masked if secret), and what is allowed."""
    secrecy = secrecy or Secrecy()
    problems = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key = key_path(namespace, loc)
        shown = secrecy.show(err["input"], loc)
        if err["type"] == "extra_forbidden":
            parent = _model_at(root, loc[:-1])
            allowed = ", ".join(f.alias for f in parent.model_fields.values()) if parent else "none"
            problems.append(f"{key}: unknown key (value {shown}); allowed keys here: {allowed}")
        elif err["type"] == "missing":
            problems.append(f"{key}: required but not set")
        else:
            message = err["msg"].removeprefix("Value error, ")
            if _contains(err["input"], UNDECRYPTED):
                message += (
                    "; the value is encrypted (set with --secret) and the offline preview cannot decrypt it, "
                    "so it cannot be checked here: preview this stack with the Pulumi CLI"
                )
            problems.append(f"{key}: {message} (got {shown})")
    return problems


def _screen(raw: dict[str, Any], secrecy: Secrecy, namespace: str) -> tuple[dict[str, Any], list[str], set[str]]:
    """Checks before the model: keys set without --path, secret keys that cannot stay secret, and every string.

    Returns the config left for the model, the problems and the keys already reported.
    """
    top_level = [f.alias for f in StackConfig.model_fields.values()]
    problems, reported, kept = [], set(), {}
    for name, value in raw.items():
        if ("." in name or "[" in name) and text_problem((name,), name) is None:
            problems.append(forgotten_path_problem(namespace, name, value, top_level, secrecy.show(value, (name,))))
            continue
        if name in secrecy.secret_keys and name in top_level and name not in SECRET_CAPABLE_KEYS:
            problems.append(
                f"{namespace}:{name}: was set with --secret, but its values become plain resource properties "
                "(names, sizes, CIDRs, tags) that --secret cannot hide; only "
                f"{', '.join(SECRET_CAPABLE_KEYS)} may be secret: set it without --secret (got {MASK})"
            )
            reported.add(key_path(namespace, (name,)))
            continue
        if name in SECRET_ONLY_KEYS and name not in secrecy.secret_keys:
            problems.append(
                f"{namespace}:{name}: holds credentials, so it is accepted only when set with --secret (a plain value "
                f"sits readable in the stack file): pulumi config rm {namespace}:{name} && "
                f"pulumi config set --secret --path {namespace}:{name}.<key> <value> (got {MASK})"
            )
            reported.add(key_path(namespace, (name,)))
            continue
        kept[name] = value
    for loc, text in walk(kept):
        problem = text_problem(loc, text)
        if problem:
            key = key_path(namespace, loc)
            problems.append(f"{key}: {problem} (got {secrecy.show(text, loc)})")
            reported.add(key)
    return kept, problems, reported


def _undecrypted_keys(raw: dict[str, Any], namespace: str) -> tuple[dict[str, Any], list[str]]:
    """Offline only: a whole key the engine could not decrypt is previewed as unset, and said so."""
    notes = []
    for name in [n for n, v in raw.items() if v == UNDECRYPTED and n in SECRET_CAPABLE_KEYS]:
        notes.append(
            f"{namespace}:{name} is encrypted and the offline preview cannot decrypt it: previewed with its "
            "defaults; what is rendered from it is still secret. `pulumi preview` shows the real value's effect."
        )
        raw = {k: v for k, v in raw.items() if k != name}
    return raw, notes


def parse(
    raw: dict[str, Any],
    region: Any,
    project: str,
    stack: str,
    *,
    region_source: str = "aws:region",
    secret_keys: frozenset[str] = frozenset(),
) -> Deployment:
    """Validate decoded config; raise ConfigError naming every bad key, never showing a secret value."""
    secrecy = Secrecy(frozenset(secret_keys), raw)
    problems = []
    prefix = f"{project}-{stack}"
    if not _NAME.fullmatch(prefix) or len(prefix) > MAX_PREFIX:
        problems.append(
            f"stack name {stack!r}: physical names start with {prefix!r}, which must be lowercase letters, digits "
            f"and hyphens, at most {MAX_PREFIX} characters (S3 bucket names); rename the stack"
        )
    region_error = region_problem(region, region_source)
    if region_error:
        problems.append(region_error)
    raw, notes = _undecrypted_keys(raw, NAMESPACE)
    raw, screened, reported = _screen(raw, secrecy, NAMESPACE)
    problems.extend(screened)
    environment = raw.get("environment")
    config = None
    try:
        config = StackConfig.model_validate(raw, context={"environment": environment})
    except ValidationError as err:
        problems.extend(p for p in describe(err, secrecy=secrecy) if p.split(": ", 1)[0] not in reported)
    if config is not None:
        problems.extend(consistency_problems(config))
        if not region_error:
            problems.extend(_regional_problems(config, region))
    if problems:
        raise ConfigError([secrecy.scrub(p) for p in problems])
    notes.extend(capacity_notes(config))
    return Deployment(
        project=project, stack=stack, region=region, config=config, secret_keys=secrecy.secret_keys, notes=tuple(notes)
    )


def _regional_problems(config: StackConfig, region: str) -> list[str]:
    """Keys that must name something in the stack's own region."""
    problems = []
    for key, arn in (
        ("collector.certificateArn", config.collector.certificate_arn),
        ("iglu.server.certificateArn", config.iglu.server.certificate_arn),
    ):
        if arn and arn.split(":")[3] != region:
            problems.append(
                f"{NAMESPACE}:{key}: must be a certificate in the stack's region {region} "
                f"(a load balancer only uses certificates of its own region) (got {json.dumps(arn)})"
            )
    return problems


def check_secret_arns(deployment: Deployment, account_id: str) -> None:
    """Every referenced secret is in the stack's account and region, or allowlisted, and one read across accounts
    has its key listed; every listed key encrypts a referenced secret. Else ConfigError.

    The account is only known by asking AWS (`aws.get_caller_identity()`), so this runs after `load()`,
    still before any resource is registered.
    """
    secrets = deployment.config.secrets
    allowed, key_places = set(secrets.allowed_arns), {place_of(key) for key in secrets.kms_key_arns}
    problems, secret_places = [], set()
    for loc, arn in secret_arn_fields(deployment.config):
        reasons = foreign_secret_reasons(arn, deployment.region, account_id)
        region, account = place_of(arn)
        secret_places.add((region, account))
        if reasons and arn not in allowed:
            problems.append(
                f"{key_path(NAMESPACE, loc)}: must name a secret in the stack's own account and region, or one listed "
                f"in {NAMESPACE}:{ALLOWLIST_KEY}; {' and '.join(reasons)} (got {MASK})"
            )
        elif account != account_id and (region, account) not in key_places:
            problems.append(
                f"{key_path(NAMESPACE, loc)}: a secret of account {account} is read across accounts, which Secrets "
                "Manager allows only when a customer-managed key of that account encrypts it and the reader may "
                f"decrypt with it: list that key (arn:aws:kms:{region}:{account}:key/<id>) in "
                f"{NAMESPACE}:{KMS_KEYS_KEY} (got {MASK})"
            )
    for index, key in enumerate(secrets.kms_key_arns):
        region, account = place_of(key)
        if (region, account) not in secret_places:
            problems.append(
                f"{NAMESPACE}:{KMS_KEYS_KEY}[{index}]: no *SecretArn key names a secret in its account and region "
                f"({account}, {region}), so no instance would decrypt with it: remove it (got {MASK})"
            )
    if problems:
        raise ConfigError(problems)


def load() -> Deployment:
    """Read `snowplow:*` and the region from the running Pulumi program; show any notes as warnings."""
    region, source = resolve_region(_decode(runtime_config.get_config("aws:region")))
    deployment = parse(
        raw_namespace(),
        region,
        pulumi.get_project(),
        pulumi.get_stack(),
        region_source=source,
        secret_keys=secret_namespace_keys(),
    )
    for note in deployment.notes:
        pulumi.log.warn(note)
    return deployment

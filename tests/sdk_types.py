"""Which pulumi_aws resource types carry the settings the policy pack guards, read from the SDK's source.

The pack is published alone and must not import pulumi_aws, so it reads `policies/aws_types.json`, which this
module generates. `tests/test_policies_sdk_types.py` regenerates it and fails when the SDK in `.venv` has grown a
type the committed file does not know, so no new type slips past the rules unnoticed.

    .venv/bin/python -m tests.sdk_types --write     # after upgrading pulumi-aws; review the diff

The SDK is read as text (about a second for all 1,700 resource modules) rather than imported: every resource
module declares `class <Name>Args` with `@pulumi.getter(name="<wireName>")` properties and registers its type
token in `super(<Name>, __self__).__init__('<token>', ...)`; nested input types live in `_inputs.py`.
"""

import argparse
import json
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "policies" / "aws_types.json"

_TOKEN = re.compile(r"super\((\w+), __self__\).__init__\(\s*'(aws:[^']+)'", re.S)
_CLASS = re.compile(r"^class (\w+)\b[^\n]*:\n", re.M)
_GETTER = re.compile(
    r"@pulumi\.getter(?:\(name=\"(\w+)\"\))?\s*\n"
    r"(?:\s*@_utilities\.deprecated\((?:\"\"\".*?\"\"\"|\"[^\n]*?\")\)\s*\n)?"
    r"\s*def (\w+)\(self\) -> (.+?):\n",
    re.S,
)
_ARGS_REF = re.compile(r"'(\w+Args)'")


@dataclass(frozen=True)
class Setting:
    """An input the pack guards: its Python name in the SDK, how deep to look, and which modules count."""

    name: str
    depth: int = 3
    modules: tuple[str, ...] = ()


# Settings whose carriers the pack must know (python names as in the SDK; found at any depth up to `depth`).
SETTINGS = [
    Setting("http_tokens"),
    Setting("root_block_device"),
    Setting("root_block_devices"),
    Setting("ebs_block_devices"),
    Setting("block_device_mappings"),
    Setting("associate_public_ip_address"),
    Setting("user_data"),
    Setting("user_data_base64"),
    Setting("instance_type", depth=3, modules=("ec2", "autoscaling")),
    Setting("instance_requirements"),
    Setting("ssl_policy"),
    Setting("access_logs", depth=0),
    Setting("connection_logs", depth=0),
    Setting("health_check_logs", depth=0),
    Setting("target_bucket", depth=2),
    Setting("publicly_accessible", depth=0),
    Setting("enhanced_vpc_routing", depth=0),
    Setting("storage_encrypted", depth=0),
    Setting("encrypted", depth=0, modules=("ebs", "ec2")),
    Setting("encrypt_at_rest", depth=0),
    Setting("bypass_policy_lockout_safety_check", depth=0),
    Setting("policy_arn", depth=0),
    Setting("policy_arns", depth=0),
    Setting("managed_policy_arns", depth=0),
    Setting("container_definitions", depth=0),
    Setting("result_configuration", depth=1, modules=("athena",)),
]

# Carriers that the rules deliberately leave alone, with the reason (reviewed whenever the SDK grows one).
EXCLUDED = {
    "http_tokens": {},
    "root_block_device": {},
    "root_block_devices": {},
    "ebs_block_devices": {
        "aws:ec2/ami:Ami": "registers existing snapshots; their encryption is decided when the snapshot is made",
        "aws:ec2/amiFromInstance:AmiFromInstance": "output only: copies the instance's volumes as they are",
        "aws:ec2/amiCopy:AmiCopy": "judged by its own top-level `encrypted` flag (ebs-volume-require-encryption)",
    },
    "block_device_mappings": {},
    "associate_public_ip_address": {},
    "user_data": {},
    "user_data_base64": {},
    "instance_type": {},
    "instance_requirements": {
        "aws:ecs/capacityProvider:CapacityProvider": "ECS managed instances: sized by ECS, not an EC2 launch",
        "aws:lambda/capacityProvider:CapacityProvider": "Lambda managed instances: sized by Lambda, not an EC2 launch",
    },
    "ssl_policy": {},
    "access_logs": {
        "aws:verifiedaccess/instanceLoggingConfiguration:InstanceLoggingConfiguration": (
            "Verified Access logging destinations, not a load balancer"
        ),
    },
    "connection_logs": {},
    "health_check_logs": {},
    "target_bucket": {},
    "publicly_accessible": {},
    "enhanced_vpc_routing": {},
    "storage_encrypted": {},
    "encrypted": {},
    "encrypt_at_rest": {},
    "bypass_policy_lockout_safety_check": {
        "aws:efs/fileSystemPolicy:FileSystemPolicy": "EFS is not used by the pipeline; no EFS rules",
        "aws:dsql/clusterPolicy:ClusterPolicy": "Aurora DSQL is not used by the pipeline; no DSQL rules",
    },
    "policy_arn": {
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "EKS access policies (Kubernetes RBAC), not IAM",
        "aws:quicksight/iamPolicyAssignment:IamPolicyAssignment": "QuickSight assignment, not an IAM attachment",
        "aws:resiliencehub/v2Service:V2Service": "Resilience Hub policy, not IAM",
        "aws:resiliencehub/v2UserJourney:V2UserJourney": "Resilience Hub policy, not IAM",
    },
    "policy_arns": {},
    "managed_policy_arns": {
        "aws:rolesanywhere/profile:Profile": "session policies that can only narrow the role's permissions",
    },
    "container_definitions": {},
    "result_configuration": {},
}


def sdk_root() -> Path:
    import pulumi_aws  # only to locate the package; its modules are read as text

    return Path(pulumi_aws.__file__).parent


def _classes(text: str):
    marks = list(_CLASS.finditer(text))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        yield mark.group(1), text[mark.end() : end]


def _properties(body: str) -> dict[str, tuple[str, str]]:
    """{python name: (wire name, annotation)} of an input class body."""
    return {python: (wire or python, annotation) for wire, python, annotation in _GETTER.findall(body)}


def read_sdk(root: Path) -> tuple[dict[str, tuple[str, dict]], dict[tuple[str, str], dict]]:
    """({token: (module, properties)}, {(module, input class): properties})."""
    resources: dict[str, tuple[str, dict]] = {}
    inputs: dict[tuple[str, str], dict] = {}
    for path in sorted(root.glob("*/*.py")):
        if path.name.startswith("get_") or path.name in ("outputs.py", "__init__.py", "_enums.py"):
            continue
        module, text = path.parent.name, path.read_text()
        if path.name == "_inputs.py":
            for name, body in _classes(text):
                if name.endswith("Args"):
                    inputs[(module, name)] = _properties(body)
            continue
        tokens = dict(_TOKEN.findall(text))
        for name, body in _classes(text):
            # `<Name>Args`, or `<Name>InitArgs` where an input type already took `<Name>Args`
            base = re.sub(r"(Init)?Args$", "", name)
            if name.endswith("Args") and base in tokens:
                resources[tokens[base]] = (module, _properties(body))
    return resources, inputs


def carriers(setting: Setting, resources: dict, inputs: dict) -> dict[str, list[str]]:
    """{token: wire paths} of every resource type with `setting` ("[]" marks a list), nested up to its depth."""
    found: dict[str, list[str]] = {}
    for token, (module, properties) in resources.items():
        if setting.modules and module not in setting.modules:
            continue
        paths: list[str] = []

        def walk(props: dict, prefix: str, depth: int, module=module, paths=paths) -> None:
            for python, (wire, annotation) in sorted(props.items()):
                here = f"{prefix}{wire}"
                if python == setting.name:
                    paths.append(here)
                if depth > 0:
                    many = "Sequence[" in annotation
                    for ref in _ARGS_REF.findall(annotation):
                        if (module, ref) in inputs:
                            walk(inputs[(module, ref)], f"{here}{'[]' if many else ''}.", depth - 1)

        walk(properties, "", setting.depth)
        if paths:
            found[token] = sorted(set(paths))
    return found


def equivalents(resources: dict) -> dict[str, str]:
    """{alias token: canonical token}: `aws.alb.*` for `aws.lb.*`, `aws.elasticsearch.*` for `aws.opensearch.*`,
    the deprecated S3 `*V2` types for their successors."""
    result = {}
    for token in resources:
        module_name, kind = token.split(":")[1], token.split(":")[2]
        module, name = module_name.split("/")
        for alias, canonical in (("alb", "lb"), ("elasticsearch", "opensearch")):
            if module == alias:
                target = f"aws:{canonical}/{name}:{kind}"
                if target in resources:
                    result[token] = target
        if module == "s3" and kind.endswith("V2"):
            target = f"aws:s3/{name[:-2]}:{kind[:-2]}"
            if target in resources:
                result[token] = target
    return dict(sorted(result.items()))


def generate(sdk: tuple | None = None) -> dict:
    """The content of aws_types.json for the SDK read by `read_sdk` (read now when not given)."""
    resources, inputs = sdk or read_sdk(sdk_root())
    found = {s.name: carriers(s, resources, inputs) for s in SETTINGS}
    for name, excluded in EXCLUDED.items():
        missing = set(excluded) - set(found[name])
        if missing:
            raise ValueError(f"{name}: excluded types that no longer carry it: {sorted(missing)}")
    return {
        "comment": "Generated from the pulumi-aws SDK by `python -m tests.sdk_types --write`; do not edit.",
        "sdk": f"pulumi-aws {metadata.version('pulumi-aws')}",
        "taggable": sorted(t for t, (_, props) in resources.items() if "tags" in props),
        "equivalents": equivalents(resources),
        "carriers": {name: {t: p for t, p in sorted(found[name].items()) if t not in EXCLUDED[name]} for name in found},
        "excluded": {name: dict(sorted(EXCLUDED[name].items())) for name in found if EXCLUDED[name]},
        "resourceTypes": len(resources),
    }


def render(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {DATA_FILE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.write:
        DATA_FILE.write_text(text)
        print(f"wrote {DATA_FILE.relative_to(ROOT)}")
        return 0
    current = DATA_FILE.read_text() if DATA_FILE.exists() else ""
    print("up to date" if current == text else f"{DATA_FILE.relative_to(ROOT)} is stale: rerun with --write")
    return 0 if current == text else 1


if __name__ == "__main__":
    sys.exit(main())

"""requirements.txt pins exactly what the Pulumi program imports; tests and tooling pin theirs elsewhere."""

import ast
import importlib.metadata
import re
import sys

from tests.conftest import ROOT

PROGRAM = [ROOT / "__main__.py", *(ROOT / "components").rglob("*.py"), *(ROOT / "stack_config").rglob("*.py")]
LOCAL = {"components", "stack_config"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.add(normalized(re.split(r"[=<>~!\[ ]", line, maxsplit=1)[0]))
    return names


def program_distributions() -> set[str]:
    modules = set()
    for path in PROGRAM:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    third_party = modules - LOCAL - set(sys.stdlib_module_names)
    owners = importlib.metadata.packages_distributions()
    return {normalized(owners[m][0]) for m in third_party}


def test_runtime_requirements_are_exactly_the_program_imports():
    imported = program_distributions()
    assert imported >= {"pulumi", "pulumi-aws", "pulumi-random", "pydantic", "botocore"}
    assert pinned(ROOT / "requirements.txt") == imported


def test_test_and_tooling_packages_are_pinned_outside_the_runtime():
    dev = pinned(ROOT / "requirements-dev.txt") | pinned(ROOT / "policies" / "requirements.txt")
    assert {"pyyaml", "pyhocon", "pytest", "jsonschema", "pulumi-policy"} <= dev
    assert not {"pyyaml", "pyhocon", "boto3", "pulumi-policy"} & pinned(ROOT / "requirements.txt")

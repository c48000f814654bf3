import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.engine import StackFile, run_program  # noqa: E402
from offline.mocks import SnowplowMocks  # noqa: E402
from tests.mutation_testing import under_mutation_testing  # noqa: E402

if under_mutation_testing():
    from tests.pack_in_process import serve_the_pack_in_process

    serve_the_pack_in_process()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(items):
        """mutmut passes a mutant's tests in no particular order: keep each file's tests together (a module fixture
        plans a stack once), the plan snapshots first (they decide most component mutants in a second)."""
        items.sort(key=lambda item: (item.path.name != "test_plan_snapshot.py", str(item.path)))


BASE = {
    "aws:region": "eu-west-1",
    "snowplow:environment": "dev",
    "snowplow:acceptLimitedUseLicense": True,
}


def write_stack(tmp_path: Path, stack: str, config: dict) -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


@pytest.fixture
def preview(tmp_path):
    """Run the program offline with BASE config overlaid by `overrides`; returns the ProgramRun."""

    def run(overrides: dict | None = None, stack: str = "test", mocks: SnowplowMocks | None = None):
        config = {**BASE, **(overrides or {})}
        return run_program(StackFile.read(write_stack(tmp_path, stack, config)), mocks=mocks)

    return run


def of_type(run, type_token: str) -> list[dict]:
    return [r for r in run.resources if r["type"] == type_token]

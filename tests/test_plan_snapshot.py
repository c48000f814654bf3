"""Every shipped stack plans exactly what tests/snapshots/ records: a change to a component shows here first, as it
would in every user's next preview. After an intended change run `make plan-snapshots` and review the diff."""

import difflib
import os

import pytest

from tests.mutation_testing import under_mutation_testing
from tests.plan_snapshots import STACK_FILES, plan_snapshot, snapshot_file

# Under mutmut: the unmutated plans, computed once in mutmut's own process (its clean run) and inherited by each
# mutant's forked run.
_UNMUTATED: dict[str, list[str]] = {}


def _recorded(stack: str) -> list[str]:
    if not under_mutation_testing():
        return snapshot_file(stack).read_text().splitlines()
    # mutmut's copy ships its own rewritten source (the Iglu Server uploads iglu_keys.py), so there the reference
    # is the same tree's plan with no mutant switched on
    if stack not in _UNMUTATED:
        mutant = os.environ["MUTANT_UNDER_TEST"]
        os.environ["MUTANT_UNDER_TEST"] = ""
        try:
            _UNMUTATED[stack] = plan_snapshot(stack)
        finally:
            os.environ["MUTANT_UNDER_TEST"] = mutant
    return _UNMUTATED[stack]


def _changes(recorded: list[str], planned: list[str]) -> str:
    diff = difflib.unified_diff(recorded, planned, "recorded", "planned now", n=0, lineterm="")
    return "\n".join(line for line in diff if not line.startswith("@@"))


@pytest.mark.parametrize("stack", list(STACK_FILES))  # dev and prod first: they decide most mutants fastest
def test_the_stack_plans_what_its_snapshot_records(stack):
    recorded = _recorded(stack)
    planned = plan_snapshot(stack)
    assert planned == recorded, (
        f"the {stack} plan changed (a changed URN replaces that resource; a changed input shows in every user's "
        f"next preview). If intended, run `make plan-snapshots` and commit the diff:\n{_changes(recorded, planned)}"
    )


def test_a_snapshot_line_names_the_resource_its_guards_and_a_digest_per_input():
    from tests.plan_snapshots import snapshot_lines

    class Run:
        stack, project, outputs, component_outputs = "s", "p", {}, {}
        resources = [
            {"urn": "urn:pulumi:s::p::aws:s3/bucket:Bucket::b", "protect": True, "inputs": {"b": 1, "a": "x"}},
            {"urn": "urn:pulumi:s::p::aws:sqs/queue:Queue::q", "protect": False, "retainOnDelete": False},
        ]

    lake, queue = snapshot_lines(Run())
    assert lake.startswith("aws:s3/bucket:Bucket::b @protect=true a=") and " b=" in lake
    assert queue == "aws:sqs/queue:Queue::q"
    Run.resources[0]["inputs"]["a"] = "y"
    assert snapshot_lines(Run())[0] != lake

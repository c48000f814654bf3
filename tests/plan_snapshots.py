"""What each shipped stack plans, resource by resource: its URN, its options that guard data, and a digest of each
input. A change here is what every user sees in their next `pulumi preview` (a changed URN replaces the resource).

Write the files again after an intended change: `make plan-snapshots` (then read the diff before committing).
"""

import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline.engine import StackFile, run_program  # noqa: E402

SNAPSHOTS = ROOT / "tests" / "snapshots"
# The shipped stacks (the repo's own, dev and prod first, then tests/stacks/), by stack name.
STACK_FILES = {
    p.stem.removeprefix("Pulumi."): p
    for p in [*sorted(ROOT.glob("Pulumi.*.yaml")), *sorted((ROOT / "tests" / "stacks").glob("Pulumi.*.yaml"))]
}
OPTIONS = ("protect", "retainOnDelete")


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def snapshot_lines(run) -> list[str]:
    """One line per resource (`<urn without stack and project> @<guard>=<value> <input>=<digest> out.<output>=<digest>`)
    and per stack output."""
    prefix = f"urn:pulumi:{run.stack}::{run.project}::"
    lines = []
    for resource in run.resources:
        fields = [f"@{option}={json.dumps(resource[option])}" for option in OPTIONS if resource.get(option)]
        if resource.get("dependencies"):  # what it waits for: creation and deletion order
            fields.append(f"@dependencies={digest(sorted(resource['dependencies']))}")
        fields += [f"{key}={digest(value)}" for key, value in sorted((resource.get("inputs") or {}).items())]
        registered = run.component_outputs.get(resource["urn"], {})
        fields += [f"out.{key}={digest(value)}" for key, value in sorted(registered.items())]
        lines.append(" ".join([resource["urn"].removeprefix(prefix), *fields]))
    # the stack outputs users read with `pulumi stack output` (the collector's URL, bucket names...)
    lines += [f"output:{name}={digest(value)}" for name, value in run.outputs.items()]
    return sorted(lines)


def plan_snapshot(stack: str) -> list[str]:
    return snapshot_lines(run_program(StackFile.read(STACK_FILES[stack])))


def snapshot_file(stack: str) -> pathlib.Path:
    return SNAPSHOTS / f"plan-{stack}.txt"


def main() -> int:
    SNAPSHOTS.mkdir(exist_ok=True)
    for stack in STACK_FILES:
        lines = plan_snapshot(stack)
        snapshot_file(stack).write_text("\n".join(lines) + "\n")
        print(f"{snapshot_file(stack).relative_to(ROOT)}: {len(lines)} resources and outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

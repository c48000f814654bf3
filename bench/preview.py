"""Offline preview wall time beside the Pulumi SDK's floor, measured in the same run.

For each stack file: `python -m offline.preview` (program + policy pack, as `make preview` runs it) against
`python -m bench.floor` (a bare program registering the same resources under the same mocks), each in a fresh
process, alternating, best and median of N. Prints the ratio preview / floor (target <= 1.25).

Run: .venv/bin/python -m bench.preview [repeats]   (or `make bench`)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS = {
    "dev": ROOT / "Pulumi.dev.yaml",
    "prod": ROOT / "Pulumi.prod.yaml",
    "full": ROOT / "tests" / "stacks" / "Pulumi.full.yaml",
}
TARGET_RATIO = 1.25


def wall(command: list[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def region_of(plan: dict) -> str:
    providers = [r for r in plan["resources"] if r["type"] == "pulumi:providers:aws"]
    return (providers[0]["inputs"].get("region") if providers else None) or os.environ.get("AWS_REGION", "eu-west-1")


def measure(name: str, stack_file: Path, repeats: int, scratch: Path) -> dict:
    plan_path = scratch / f"{name}.json"
    preview = [sys.executable, "-m", "offline.preview", "--config", str(stack_file)]
    wall([*preview, "--json", str(plan_path)])  # warms the file cache and gives the floor its plan
    plan = json.loads(plan_path.read_text())
    floor = [sys.executable, "-m", "bench.floor", str(plan_path), region_of(plan)]
    previews, floors = [], []
    for _ in range(repeats):
        previews.append(wall(preview))
        floors.append(wall(floor))
    row = {
        "stack": name,
        "resources": len(plan["resources"]),
        "preview_s": min(previews),
        "preview_median_s": statistics.median(previews),
        "floor_s": min(floors),
        "floor_median_s": statistics.median(floors),
    }
    row["ratio"] = row["preview_s"] / row["floor_s"]
    row["ratio_median"] = row["preview_median_s"] / row["floor_median_s"]
    return row


def main(repeats: int) -> int:
    print(f"{os.cpu_count()} cores; {repeats} runs each, fresh processes, preview and floor alternating", flush=True)
    header = f"{'stack':<6} {'resources':>9} {'preview s':>10} {'floor s':>8} {'ratio':>6} {'median ratio':>13}"
    print(header, flush=True)
    worst = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for name, path in STACKS.items():
            row = measure(name, path, repeats, Path(scratch))
            worst = max(worst, row["ratio"])
            print(
                f"{row['stack']:<6} {row['resources']:>9} {row['preview_s']:>10.2f} {row['floor_s']:>8.2f} "
                f"{row['ratio']:>6.2f} {row['ratio_median']:>13.2f}",
                flush=True,
            )
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"worst best-of ratio {worst:.2f}: {verdict} the target of {TARGET_RATIO}x the floor")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))

"""The policy pack on the full fixture's plan: start time and resources analysed per second, with the pack's
single-conversion servicer and with pulumi-policy's stock one (SNOWPLOW_POLICY_STOCK=1), in the same run.

Run: .venv/bin/python -m bench.policy_pack [repeats] [stack file]   (or `make bench`); target >= 1,000 resources/s.
"""

import os
import statistics
import sys
import time
from pathlib import Path

from offline.engine import StackFile, run_program
from offline.policy import PolicyPackProcess
from policies.snowplow_fast_analyzer import STOCK_SWITCH

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "policies"
TARGET = 1000


def measure(resources: list[dict], config: Path, stack: str, repeats: int) -> tuple[float, float]:
    """(median start seconds, median resources/s) over `repeats` fresh pack processes."""
    custom = sum(1 for r in resources if r["custom"])
    starts, rates = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        with PolicyPackProcess(PACK, stack=stack, project="snowplow") as pack:
            pack.info  # noqa: B018 - GetAnalyzerInfo, as the CLI calls it first
            starts.append(time.perf_counter() - began)
            pack.configure(config)
            began = time.perf_counter()
            pack.run(resources, config)
            rates.append(custom / (time.perf_counter() - began))
    return statistics.median(starts), statistics.median(rates)


def main(repeats: int, stack_path: Path) -> int:
    stack_file = StackFile.read(stack_path)
    run = run_program(stack_file)
    environment = stack_file.config.get("snowplow:environment", "dev")
    config = PACK / f"config.{environment}.json"
    custom = sum(1 for r in run.resources if r["custom"])
    print(
        f"{stack_path.name}: {custom} custom resources; pack config {config.name}; {os.cpu_count()} cores", flush=True
    )
    for label, stock in (("single conversion", False), ("stock pulumi-policy", True)):
        if stock:
            os.environ[STOCK_SWITCH] = "1"
        else:
            os.environ.pop(STOCK_SWITCH, None)
        start, rate = measure(run.resources, config, stack_file.stack, repeats)
        print(f"{label:<20} start {start:.3f}s  Analyze x{custom} + AnalyzeStack: {rate:,.0f} resources/s", flush=True)
        if not stock:
            verdict = "meets" if rate >= TARGET else "misses"
            print(f"{'':<20} {verdict} the target of {TARGET:,} resources/s", flush=True)
    os.environ.pop(STOCK_SWITCH, None)
    return 0


if __name__ == "__main__":
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    stack = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "tests" / "stacks" / "Pulumi.full.yaml"
    sys.exit(main(repeats, stack))

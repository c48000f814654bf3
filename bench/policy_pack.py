"""Measure the policy pack on the prod plan: start time and resources analysed per second.

Run: .venv/bin/python bench/policy_pack.py [repeats]
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.engine import StackFile, run_program  # noqa: E402
from offline.policy import PolicyPackProcess  # noqa: E402

PACK = ROOT / "policies"
CONFIG = PACK / "config.prod.json"


def main(repeats: int) -> None:
    resources = run_program(StackFile.read(ROOT / "Pulumi.prod.yaml")).resources
    custom = [r for r in resources if r["custom"]]
    starts, runs = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        with PolicyPackProcess(PACK, stack="prod", project="snowplow") as pack:
            pack.info  # noqa: B018 - GetAnalyzerInfo, as the CLI calls it first
            starts.append(time.perf_counter() - began)
            began = time.perf_counter()
            report = pack.run(resources, CONFIG)
            runs.append(time.perf_counter() - began)
    print(f"prod plan: {len(custom)} custom resources, {len(report['violations'])} violations")
    print(f"pack start (spawn to GetAnalyzerInfo): median {statistics.median(starts):.3f}s, min {min(starts):.3f}s")
    median = statistics.median(runs)
    print(
        f"Configure + Analyze x{len(custom)} + AnalyzeStack: median {median:.3f}s = {len(custom) / median:.0f} resources/s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

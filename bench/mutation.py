"""Mutation score of one module (or folder) with mutmut: `make mutation MODULE=components/apps/ec2_service.py`.

mutmut (settings in pyproject.toml) copies the code to mutants/, runs the suite once to learn which tests reach
which function (kept in mutants/ and topped up for new tests), then runs each mutant of the module against
only those tests, failing fast. Equivalent mutants (no test can tell them apart from the original) are
listed with the reason in bench/mutation_equivalents.txt and left out of the score.

Run: .venv/bin/python bench/mutation.py [--report] PATH...   (PATH: a .py file or a folder under the sources)
"""

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "bench" / "mutation_equivalents.txt"
KILLED = {"killed", "timeout", "caught by type check"}


def module_glob(path: str) -> str:
    """mutmut's mutant-name pattern for a file or folder: components/apps/x.py -> components.apps.x.*"""
    dotted = path.strip("/").removesuffix(".py").replace("/", ".")
    return f"{dotted}.*"


def equivalents() -> dict[str, str]:
    """{mutant name: why it is equivalent} from EQUIVALENTS (`name  reason`, # comments)."""
    listed = {}
    for line in EQUIVALENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, reason = line.partition(" ")
            listed[name] = reason.strip()
    return listed


def results(path: str) -> dict[str, str]:
    """{mutant name: status} for every mutant mutmut made in the file(s) under `path`."""
    target = ROOT / "mutants" / path
    metas = [Path(str(target) + ".meta")] if path.endswith(".py") else sorted(target.rglob("*.py.meta"))
    statuses = {}
    for meta in metas:
        if meta.exists():
            for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
                statuses[name] = status_by_exit_code[code]
    return statuses


def score_line(path: str, statuses: dict[str, str], listed: dict[str, str]) -> tuple[str, list[str]]:
    """One summary line and the names of the surviving (non-equivalent) mutants."""
    equivalent = {n for n, s in statuses.items() if n in listed and s not in KILLED}
    counted = {n: s for n, s in statuses.items() if n not in equivalent}
    tally = Counter(counted.values())
    killed = sum(tally[s] for s in KILLED)
    unchecked = tally["not checked"]
    scored = len(counted) - unchecked
    survivors = sorted(n for n, s in counted.items() if s not in KILLED and s != "not checked")
    percent = f"{100 * killed / scored:.1f}%" if scored else "n/a"
    line = (
        f"{path}: {percent} killed ({killed} of {scored} non-equivalent mutants; {len(equivalent)} equivalent; "
        f"{tally['survived']} survived, {tally['no tests']} reached by no test"
        + (f", {unchecked} not checked yet" if unchecked else "")
        + ")"
    )
    return line, survivors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="module file or folder, e.g. policies/snowplow_network.py")
    parser.add_argument("--report", action="store_true", help="print the scores of the last run, run nothing")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATION_JOBS", "1")))
    args = parser.parse_args()
    os.chdir(ROOT)
    if not args.report:
        command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.jobs)]
        command += [module_glob(p) for p in args.paths]
        print("$", " ".join(command), flush=True)
        code = subprocess.call(command)
        if code:
            print(f"mutmut exited {code}", file=sys.stderr)
            return code
    listed = equivalents()
    print()
    for path in args.paths:
        line, survivors = score_line(path, results(path), listed)
        print(line)
        for name in survivors:
            print(f"    survived: {name}   (see: .venv/bin/mutmut show {name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

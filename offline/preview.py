"""Offline `pulumi preview`: run the program under mocks, print the resource tree and outputs.

Exit codes: 0 ok, 1 invalid stack config, 2 a mandatory policy violation.
"""

import argparse
import base64
import contextlib
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from offline.cost import cost_lines, plan_cost
from offline.engine import MASK, PROJECT_DIR, ProgramRun, StackFile, project_name, run_program
from offline.policy import DEFAULT_PACK_DIR as PACK_DIR
from offline.policy import PolicyPackProcess, format_violations, mandatory_violations
from stack_config.regions import resolve_region

EXIT_OK, EXIT_CONFIG, EXIT_POLICY = 0, 1, 2


def tree_lines(run: ProgramRun) -> list[str]:
    """Resources grouped under their parent component, like the CLI's preview tree."""
    children: dict[str | None, list[dict]] = {}
    for resource in run.resources:
        children.setdefault(resource["parent"], []).append(resource)
    for items in children.values():
        items.sort(key=lambda r: (r["custom"], r["type"], r["name"]))

    lines: list[str] = []

    def walk(parent: str | None, indent: str, child_indent: str) -> None:
        items = children.get(parent, [])
        for i, resource in enumerate(items):
            last = i == len(items) - 1
            flags = " [protect]" if resource["protect"] else ""
            flags += " [retain]" if resource["retainOnDelete"] else ""
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            lines.append(f"{indent}{branch}{resource['type']}  {resource['name']}{flags}")
            below = "" if parent is None else ("   " if last else "│  ")
            walk(resource["urn"], child_indent + below, child_indent + below)

    walk(None, "", "")
    return lines


def summary_line(run: ProgramRun) -> str:
    custom = sum(1 for r in run.resources if r["custom"])
    components = sum(1 for r in run.resources if not r["custom"] and r["type"] != "pulumi:pulumi:Stack")
    return f"Resources: {len(run.resources)} ({custom} AWS resources, {components} components, 1 stack)"


def output_lines(run: ProgramRun) -> list[str]:
    lines = ["Outputs:"]
    width = max((len(k) for k in run.outputs), default=0)
    for key in sorted(run.outputs):
        value = MASK if key in run.secret_outputs else run.outputs[key]
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"    {key:<{width}}: {text}")
    return lines


def plan_document(run: ProgramRun) -> dict[str, Any]:
    return {
        "project": run.project,
        "stack": run.stack,
        "resources": run.resources,
        "outputs": {k: (MASK if k in run.secret_outputs else v) for k, v in run.outputs.items()},
    }


def render_app_files(run: ProgramRun, directory: Path) -> list[Path]:
    """Write each app config object exactly as it is uploaded: `<dir>/<app>/<file>`.

    Secret contents are written too: offline nothing is decrypted, so an encrypted value appears as its
    placeholder and the rest is what the stack file holds in clear.
    """
    written = []
    for resource in run.resources:
        if resource["type"] != "aws:s3/bucketObjectv2:BucketObjectv2":
            continue
        inputs = run.revealed_inputs.get(resource["urn"], resource["inputs"])
        metadata = inputs.get("metadata") or {}
        app, name = metadata.get("snowplow-app"), metadata.get("snowplow-file")
        if not (app and name):
            continue
        target = directory / app / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if "contentBase64" in inputs:  # an archive (the dbt project): written as the bytes it uploads
            target.write_bytes(base64.b64decode(inputs["contentBase64"]))
        else:
            target.write_text(inputs["content"])
        written.append(target)
    return sorted(written)


def policy_config_for(stack_file: StackFile, explicit: Path | None) -> Path | None:
    """The explicit file, else the pack's file for the stack's environment (dev or prod)."""
    if explicit is not None:
        return explicit
    environment = stack_file.config.get("snowplow:environment", "dev")
    candidate = PACK_DIR / f"config.{environment}.json"
    return candidate if candidate.is_file() else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make preview", description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--config", type=Path, help="path to any Pulumi.<name>.yaml stack file")
    parser.add_argument("--json", type=Path, help="write the machine-readable plan here")
    parser.add_argument("--render", type=Path, help="write every rendered app config file under this folder")
    parser.add_argument(
        "--policy-config",
        type=Path,
        help="policy pack config file (default: policies/config.<environment>.json for the stack's environment)",
    )
    parser.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    parser.add_argument(
        "--diagram", type=Path, help="draw the planned architecture here (.svg or .png; needs Graphviz)"
    )
    return parser.parse_args(argv)  # None: sys.argv[1:]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    path = args.config or PROJECT_DIR / f"Pulumi.{args.stack}.yaml"
    started = time.perf_counter()
    try:
        stack_file = StackFile.read(path)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG

    from stack_config import ConfigError

    policy_config = policy_config_for(stack_file, args.policy_config)
    # Not `with PolicyPackProcess(...)`: entering starts the pack and waits for it, which is the wait to avoid.
    pack = PolicyPackProcess(stack=stack_file.stack, project=project_name())
    try:
        analyze = None
        if not args.no_policy:
            pack.warm_up(policy_config)  # the pack starts on the other core while the program runs
            analyze = pack.analyze_as_registered()  # and analyses each resource as it is registered
        try:
            with fewer_collections():
                run = run_program(stack_file, on_register=analyze)
        except ConfigError as err:
            print(f"error: {path.name}: {err}", file=sys.stderr)
            return EXIT_CONFIG
        return report(run, stack_file, args, pack, policy_config, started)
    finally:
        pack.kill()  # nothing more to ask it (a graceful stop costs ~0.1 s); a no-op when it never started


@contextlib.contextmanager
def fewer_collections():
    """Collect the young generation 20x less often while the program runs: a preview allocates a few hundred MB
    of short-lived objects at most, and the default thresholds spent ~0.4 s of a prod preview collecting."""
    threshold = gc.get_threshold()
    gc.set_threshold(threshold[0] * 20, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def report(
    run: ProgramRun, stack_file: StackFile, args: argparse.Namespace, pack: PolicyPackProcess, policy_config, started
) -> int:
    """Print the plan, run the pack over it, write the requested files; the preview's exit code."""
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print("\n".join(tree_lines(run)))
    print()
    print("\n".join(output_lines(run)))
    print()
    print(summary_line(run))
    document = plan_document(run)
    region = stack_file.config.get("aws:region") or resolve_region(None)[0] or "us-east-1"
    document["cost"] = plan_cost(run.resources, region)
    print()
    print("\n".join(cost_lines(document["cost"])))
    exit_code = EXIT_OK
    if not args.no_policy:
        verdict = pack.run(run.resources, policy_config)
        print()
        print(format_violations(verdict))
        document["policy"] = {k: verdict[k] for k in ("pack", "version", "violations")}
        if mandatory_violations(verdict):
            exit_code = EXIT_POLICY
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"Plan written to {args.json}")
    if args.render:
        files = render_app_files(run, args.render)
        print(f"{len(files)} app config files written under {args.render}")
    if args.diagram:
        from offline import diagram  # imports graphviz only when asked

        fmt = args.diagram.suffix.removeprefix(".") or "svg"
        (written,) = diagram.write(diagram.to_graph(diagram.describe(run)), args.diagram, [fmt])
        print(f"Architecture diagram written to {written}")
    print(f"Preview of stack {run.stack} took {time.perf_counter() - started:.2f}s")
    return exit_code


def exit_now(code: int) -> None:
    """Exit without tearing down the interpreter: the plan and the pack are done, and freeing a preview's
    objects one by one took longer than some previews (0.5-0.9 s of a prod preview). Output is flushed first."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())

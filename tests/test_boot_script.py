"""The rendered boot script, run for real by bash against fake aws/docker/curl/dnf/systemctl on PATH.

Every failure case must end in one clear state: the instance marked Unhealthy (ignoring the grace period)
with the reason on stderr and in the app's log group, and no app container left running.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.apps import boot_script
from components.apps.boot_script import BootSpec, HealthCheck, render_boot_script
from components.apps.config_bundle import MANIFEST_NAME, manifest_text, sha256_hex

FAKE = Path(__file__).with_name("fake_host.py")
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/iglu-key-AbCdEf"
SECRET_VALUE = 'k3y"with-quote'
FILES = {
    "enrich.hocon": '{"input": {"streamName": "raw"}}\n',
    "iglu_resolver.json": '{"apikey": "{{resolve:secretsmanager:' + SECRET_ARN + '}}"}\n',
    "enrichments/anon_ip.json": '{"enabled": true}\n',
}
SOURCE = "s3://config-bucket/config/enrich/0123456789abcdef/"
FAKED = ["aws", "docker", "curl", "dnf"]
# The health polls run many times: answer them in bash, recording the call as fake_host.py would.
FAST_PATHS = {
    "docker": (
        "if [[ $1 == inspect && ! -e $FAKE_HOST/crash_loop && ! -e $FAKE_HOST/docker_hangs ]]; then\n"
        '  printf \'{"cmd": "docker", "args": ["inspect", "%s"]}\\n\' "${!#}" >>"$FAKE_HOST/calls.jsonl"\n'
        '  cat "$FAKE_HOST/containers/${!#}" 2>/dev/null; exit\n'
        "fi\n"
    ),
    "curl": (
        "if [[ ${!#} == http://127.0.0.1:* ]]; then\n"
        '  printf \'{"cmd": "curl", "args": ["%s"]}\\n\' "${!#}" >>"$FAKE_HOST/calls.jsonl"\n'
        '  cat "$FAKE_HOST/health_code" 2>/dev/null || printf 200; exit 0\n'
        "fi\n"
    ),
}
# Hot or trivial commands are recorded by a shell one-liner (their arguments need no JSON escaping).
RECORDED = ["systemctl", "sleep", "chown"]


def spec(**overrides) -> BootSpec:
    values = dict(
        app="enrich",
        region="eu-west-1",
        config_source=SOURCE,
        manifest_sha256=sha256_hex(manifest_text(FILES)),
        image="snowplow/snowplow-enrich-kinesis:6.13.1",
        memory_mib=1638,
        log_group="/aws/ec2/snowplow-test-enrich",
        app_args=["--config", "/snowplow/config/enrich.hocon"],
        health=HealthCheck(8000, "/"),
        resolve_secrets=True,
    )
    return BootSpec(**{**values, **overrides})


@dataclass
class Run:
    returncode: int
    stderr: str
    calls: list[dict]
    root: Path

    def commands(self, cmd: str, *prefix: str) -> list[list[str]]:
        return [c["args"] for c in self.calls if c["cmd"] == cmd and c["args"][: len(prefix)] == list(prefix)]

    @property
    def marked_unhealthy(self) -> bool:
        marks = self.commands("aws", "autoscaling", "set-instance-health")
        for args in marks:
            assert args[args.index("--instance-id") + 1] == "i-0123456789abcdef0"
            assert args[args.index("--health-status") + 1] == "Unhealthy"
            assert "--no-should-respect-grace-period" in args  # boot failures happen inside the grace period
        return bool(marks)

    @property
    def app_started(self) -> bool:
        return bool([a for a in self.commands("docker", "run") if "--detach" in a])

    @property
    def app_running(self) -> bool:
        return (self.root.parent / "host" / "containers" / "enrich").exists()

    def logged_reason(self) -> str:
        events = [a[a.index("--log-events") + 1] for a in self.commands("aws", "logs", "put-log-events")]
        return " ".join(json.loads(e)[0]["message"] for e in events)


class FakeHost:
    """A temp dir standing in for an instance: fake commands first on PATH, S3 objects, secrets, app state."""

    def __init__(self, base: Path):
        self.base = base
        self.state = base / "host"
        self.bin = base / "bin"
        self.root = base / "opt-snowplow"
        self.systemd = base / "systemd"
        for d in (self.state, self.bin, self.systemd):
            d.mkdir()
        for name in FAKED + RECORDED:
            wrapper = self.bin / name
            if name in FAKED:
                wrapper.write_text(
                    f'#!/bin/bash\n{FAST_PATHS.get(name, "")}exec "{sys.executable}" "{FAKE}" {name} "$@"\n'
                )
            else:
                wrapper.write_text(
                    "#!/bin/bash\n"
                    f'args=$(printf \', "%s"\' "$@"); printf \'{{"cmd": "{name}", "args": [%s]}}\\n\' '
                    '"${args:2}" >>"$FAKE_HOST/calls.jsonl"\n'
                )
            wrapper.chmod(0o755)
        self.set("secrets.json", json.dumps({SECRET_ARN: SECRET_VALUE}))

    def set(self, name: str, value: str = "1") -> None:
        (self.state / name).write_text(value)

    def upload(self, files: dict[str, str], manifest: str | None = None, source: str = SOURCE) -> None:
        prefix = self.state / "s3" / source.removeprefix("s3://")
        for path, content in {
            **files,
            MANIFEST_NAME: manifest if manifest is not None else manifest_text(files),
        }.items():
            (prefix / path).parent.mkdir(parents=True, exist_ok=True)
            (prefix / path).write_text(content)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "FAKE_HOST": str(self.state),
            "SNOWPLOW_ROOT": str(self.root),
            "SYSTEMD_DIR": str(self.systemd),
            **extra,
        }

    def run(self, script: str, *args: str, timeout: int = 60, **extra_env: str) -> Run:
        self.unlock()  # a previous boot left read-only config dirs, which only root could replace
        path = self.base / "user-data.sh"
        path.write_text(script)
        done = subprocess.run(
            ["bash", str(path), *args], env=self.env(**extra_env), capture_output=True, text=True, timeout=timeout
        )
        calls_file = self.state / "calls.jsonl"
        calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
        return Run(done.returncode, done.stderr, calls, self.root)

    def unlock(self) -> None:
        for path in self.base.rglob("*"):
            if path.is_dir():
                path.chmod(0o700)


@pytest.fixture
def host(tmp_path):
    fake = FakeHost(tmp_path)
    yield fake
    fake.unlock()  # the boot makes config dirs read-only; let pytest clean up


def assert_failed_cleanly(run: Run, reason: str) -> None:
    assert run.returncode == 1, run.stderr
    assert f"BOOT FAILED: {reason}" in run.stderr or reason in run.stderr, run.stderr
    assert reason in run.logged_reason()
    assert run.marked_unhealthy
    assert not run.app_running


def test_good_fetch_starts_the_app_with_secrets_resolved_and_files_private(host):
    host.upload(FILES)
    run = host.run(render_boot_script(spec()))
    assert run.returncode == 0, run.stderr
    assert run.app_started and run.app_running and not run.marked_unhealthy
    installed = host.root / "config"
    resolver = json.loads((installed / "iglu_resolver.json").read_text())
    assert resolver["apikey"] == SECRET_VALUE
    assert SECRET_VALUE not in run.stderr
    for path in installed.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o500 if path.is_dir() else 0o400), (path, oct(mode))
    assert ["-R", "1001", str(installed)] in run.commands("chown")
    (app_run,) = [a for a in run.commands("docker", "run") if "--detach" in a]
    assert f"{installed}:/snowplow/config:ro" in app_run
    assert "SNOWPLOW_INSTANCE_ID=i-0123456789abcdef0" in app_run  # what a Snowflake channel prefix is made of
    assert app_run[-3:] == ["snowplow/snowplow-enrich-kinesis:6.13.1", "--config", "/snowplow/config/enrich.hocon"]
    unit = (host.systemd / "snowplow-watchdog.service").read_text()
    assert f"ExecStart=/bin/bash {host.root}/snowplow.sh watchdog" in unit
    assert ["enable", "--now", "snowplow-watchdog.service"] in run.commands("systemctl")
    assert "boot complete" in run.logged_reason()


def test_cloud_init_runs_it_with_bash_and_docker_is_installed_and_started_before_any_docker_command(host):
    host.upload(FILES)
    script = render_boot_script(spec())
    assert script.startswith("#!/bin/bash\n")  # cloud-init runs user data by its shebang, not with `bash file`
    run = host.run(script)
    assert run.returncode == 0, run.stderr
    sequence = [(c["cmd"], c["args"]) for c in run.calls if c["cmd"] in ("dnf", "systemctl", "docker")]
    assert sequence[:2] == [("dnf", ["install", "-y", "docker"]), ("systemctl", ["enable", "--now", "docker"])]
    assert [cmd for cmd, _ in sequence[2:]].count("docker") >= 2  # pull and run come after


def test_empty_prefix_marks_the_instance_unhealthy_without_starting_the_app(host):
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, f"no {MANIFEST_NAME} under {SOURCE} (empty or incomplete prefix)")
    assert not run.app_started
    assert len(run.commands("aws", "s3", "cp")) == 5  # retried with backoff before giving up
    assert [a for a in run.commands("sleep")][:4] == [["5"], ["10"], ["20"], ["40"]]


def test_one_missing_file_is_named(host):
    host.upload(FILES, manifest=manifest_text({**FILES, "enrichments/ip_lookups.json": "{}\n"}))
    run = host.run(
        render_boot_script(
            spec(manifest_sha256=sha256_hex(manifest_text({**FILES, "enrichments/ip_lookups.json": "{}\n"})))
        )
    )
    assert_failed_cleanly(run, "config files do not match manifest.sha256")
    assert "enrichments/ip_lookups.json: FAILED open or read" in run.logged_reason()
    assert not run.app_started


def test_bad_checksum_is_named(host):
    host.upload({**FILES, "enrich.hocon": '{"input": {"streamName": "tampered"}}\n'}, manifest=manifest_text(FILES))
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, "config files do not match manifest.sha256")
    assert "enrich.hocon: FAILED" in run.logged_reason()
    assert not run.app_started


def test_a_manifest_other_than_the_launched_one_is_rejected(host):
    other = {**FILES, "enrich.hocon": "{}\n"}
    host.upload(other)  # consistent in itself, but not what this launch template was rendered with
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, "is not the one this instance was launched with")
    assert not run.app_started


def test_an_unlisted_file_is_rejected(host):
    host.upload({**FILES, "enrichments/extra.json": "{}\n"}, manifest=manifest_text(FILES))
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, "unexpected files under")
    assert "enrichments/extra.json" in run.logged_reason()


def test_failed_secret_lookup_names_the_arn_and_starts_nothing(host):
    host.set("secrets.json", "{}")
    host.upload(FILES)
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, f"secret lookup failed for {SECRET_ARN}")
    assert not run.app_started and not run.commands("docker", "pull")
    assert not (host.root / "config").exists()


def test_transient_fetch_errors_are_retried(host):
    host.upload(FILES)
    host.set("s3_failures", "2")
    run = host.run(render_boot_script(spec()))
    assert run.returncode == 0, run.stderr
    assert len(run.commands("aws", "s3", "cp")) == 3 and run.app_started


def test_an_app_that_never_gets_healthy_is_removed_and_replaced(host):
    host.upload(FILES)
    host.set("health_code", "503")
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, "not healthy within the boot deadline: GET http://127.0.0.1:8000/ answered 503")
    assert run.app_started and ["rm", "-f", "enrich"] in run.commands("docker")


def test_a_crash_looping_container_fails_the_boot(host):
    host.upload(FILES)
    host.set("crash_loop")
    run = host.run(render_boot_script(spec(health=HealthCheck(8080))))
    assert_failed_cleanly(run, "container enrich restarted 3 times (crash loop)")


def test_without_a_health_endpoint_the_container_must_stay_up(host):
    host.upload(FILES)
    run = host.run(render_boot_script(spec(health=HealthCheck(8080))))
    assert run.returncode == 0, run.stderr
    assert len(run.commands("docker", "inspect")) == 6
    assert not [c for c in run.commands("curl") if c[-1].startswith("http://127.0.0.1")]


def test_pre_start_runs_to_completion_before_the_app_and_failure_stops_the_boot(host):
    host.upload(FILES)
    steps = [["setup", "--config", "/snowplow/config/enrich.hocon"]]
    ok = host.run(render_boot_script(spec(pre_start=steps)))
    assert ok.returncode == 0, ok.stderr
    runs = ok.commands("docker", "run")
    assert "--rm" in runs[0] and runs[0][-3:] == steps[0] and "--detach" in runs[1]
    assert f"{host.root}/config:/snowplow/config:ro" in runs[0]  # same config mount (and secrets) as the app

    host.set("pre_start_exit", "3")
    (host.state / "calls.jsonl").unlink()
    failed = host.run(render_boot_script(spec(pre_start=steps)))
    assert_failed_cleanly(failed, "pre-start step 1 (setup --config /snowplow/config/enrich.hocon) exited with 3")
    assert not failed.app_started


def test_post_start_runs_once_healthy_and_its_failure_fails_the_boot(host):
    host.upload(FILES)
    marker = host.base / "post-start-ran"
    ok = host.run(render_boot_script(spec(post_start=[f'echo "$INSTANCE_ID $APP $HEALTH_URL" > {marker}'])))
    assert ok.returncode == 0, ok.stderr
    assert marker.read_text() == "i-0123456789abcdef0 enrich http://127.0.0.1:8000/\n"

    (host.state / "calls.jsonl").unlink()
    failed = host.run(render_boot_script(spec(post_start=["true", "aws secretsmanager put-secret-value --oops"])))
    assert_failed_cleanly(failed, "a post-start step failed (exit 2)")


def test_when_the_instance_cannot_be_marked_it_powers_off(host):
    host.set("asg_fails")
    run = host.run(render_boot_script(spec()))
    assert run.returncode == 1
    assert len(run.commands("aws", "autoscaling", "set-instance-health")) == boot_script.MARK_ATTEMPTS
    assert ["poweroff"] in run.commands("systemctl")


def test_dnf_failure_is_a_boot_failure(host):
    host.set("dnf_fails")
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, "could not install and start Docker")
    assert len(run.commands("dnf")) == 3


@pytest.mark.parametrize(
    ("condition", "rounds", "expected"),
    [
        (None, 12, None),
        ("health_503", 12, "unhealthy for 10 checks in a row: GET http://127.0.0.1:8000/ answered 503"),
        ("crash_loop", 12, "container enrich restarted 3 times within 120s (crash loop)"),
    ],
)
def test_watchdog_marks_the_instance_only_when_the_app_stays_unhealthy(host, condition, rounds, expected):
    (host.state / "containers").mkdir()
    (host.state / "containers" / "enrich").write_text("true 0")
    if condition == "health_503":
        host.set("health_code", "503")
    elif condition == "crash_loop":
        host.set("crash_loop")
    run = host.run(
        render_boot_script(spec()),
        "watchdog",
        INSTANCE_ID="i-0123456789abcdef0",
        WATCHDOG_ROUNDS=str(rounds),
    )
    assert run.returncode == 0, run.stderr
    if expected is None:
        assert not run.marked_unhealthy
    else:
        assert run.marked_unhealthy and expected in run.logged_reason()


def test_rendered_scripts_pass_shellcheck(tmp_path):
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).with_name("shellcheck"))
    scripts = {
        "plain.sh": render_boot_script(spec(resolve_secrets=False, health=HealthCheck(8080))),
        "hooks.sh": render_boot_script(
            spec(pre_start=[["setup"], ["migrate", "--yes"]], post_start=['echo "$HEALTH_URL"'])
        ),
    }
    for name, text in scripts.items():
        (tmp_path / name).write_text(text)
    done = subprocess.run([shellcheck, *(str(tmp_path / n) for n in scripts)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def short_deadline(monkeypatch):
    """A 6 s boot deadline (health polled every second), so a step that hangs is seen to be stopped."""
    monkeypatch.setattr(boot_script, "BOOT_DEADLINE", 6)
    monkeypatch.setattr(boot_script, "HEALTH_INTERVAL", 1)


@pytest.mark.parametrize(
    ("hang", "steps", "reason"),
    [
        ("s3_hangs", {}, "the boot deadline (6s) passed"),
        ("pre_start_hangs", {"pre_start": [["setup"]]}, "pre-start step 1 (setup) exited with 124"),
        ("post_start", {"post_start": ["python3 -c 'import time; time.sleep(120)'"]}, "a post-start step failed"),
    ],
)
def test_a_step_that_hangs_is_stopped_at_the_boot_deadline_and_the_instance_replaced(
    host, short_deadline, hang, steps, reason
):
    """Without a bound, a hung step keeps the instance InService with no app and no watchdog, for ever."""
    host.upload(FILES)
    host.set(hang)
    run = host.run(render_boot_script(spec(**steps)), timeout=30)
    assert_failed_cleanly(run, reason)
    assert "the boot deadline (6s) passed" in run.logged_reason()
    if hang == "pre_start_hangs":  # killing the docker client leaves the container running: it is removed
        assert ["rm", "-f", "enrich-pre-start-1"] in run.commands("docker")
        assert not run.app_started


def test_marking_the_instance_is_bounded_too(host, monkeypatch):
    """A wedged autoscaling call must not keep a failed instance InService: each try is cut, then poweroff."""
    monkeypatch.setattr(boot_script, "AWS_CALL_TIMEOUT", 1)
    host.set("asg_hangs")
    run = host.run(render_boot_script(spec()), timeout=30)
    assert run.returncode == 1
    assert len(run.commands("aws", "autoscaling", "set-instance-health")) == boot_script.MARK_ATTEMPTS
    assert ["poweroff"] in run.commands("systemctl")


def test_a_secret_written_after_this_instance_booted_is_waited_for(host, monkeypatch):
    """E.g. the Iglu read key, which the Iglu Server writes at its own first boot."""
    monkeypatch.setattr(boot_script, "SECRET_WAIT_INTERVAL", 0)
    host.upload(FILES)
    host.set("secret_appears_after", "4")
    run = host.run(render_boot_script(spec()))
    assert run.returncode == 0, run.stderr
    assert len(run.commands("aws", "secretsmanager", "get-secret-value")) == 4
    assert f"no value in {SECRET_ARN} yet" in run.stderr
    assert json.loads((host.root / "config" / "iglu_resolver.json").read_text())["apikey"] == SECRET_VALUE


def test_a_secret_that_never_gets_a_value_fails_the_boot_after_the_wait(host, monkeypatch):
    monkeypatch.setattr(boot_script, "SECRET_WAIT_INTERVAL", 0)
    host.upload(FILES)
    host.set("secret_appears_after", "1000")
    run = host.run(render_boot_script(spec()))
    assert_failed_cleanly(run, f"secret lookup failed for {SECRET_ARN}: no value")
    assert len(run.commands("aws", "secretsmanager", "get-secret-value")) == boot_script.SECRET_WAIT_ATTEMPTS
    assert not run.app_started


def test_running_the_boot_again_on_a_healthy_instance_keeps_it(host):
    """An operator re-running the user data (or cloud-init re-running it) must not kill a healthy instance."""
    host.upload(FILES)
    first = host.run(render_boot_script(spec(pre_start=[["setup"]])))
    assert first.returncode == 0, first.stderr
    (host.state / "calls.jsonl").unlink()
    again = host.run(render_boot_script(spec(pre_start=[["setup"]])))
    assert again.returncode == 0, again.stderr
    assert not again.marked_unhealthy and again.app_running


def test_watchdog_marks_the_instance_when_docker_stops_answering(host, monkeypatch):
    monkeypatch.setattr(boot_script, "DOCKER_TIMEOUT", 1)
    monkeypatch.setattr(boot_script, "WATCHDOG_FAILURES", 2)
    (host.state / "containers").mkdir()
    (host.state / "containers" / "enrich").write_text("true 0")
    host.set("docker_hangs")
    run = host.run(
        render_boot_script(spec()), "watchdog", INSTANCE_ID="i-0123456789abcdef0", WATCHDOG_ROUNDS="4", timeout=30
    )
    assert run.returncode == 0, run.stderr
    assert run.marked_unhealthy
    assert "unhealthy for 2 checks in a row: docker did not answer within 1s" in run.logged_reason()


def test_a_wedged_docker_daemon_still_ends_in_a_marked_instance(host, short_deadline, monkeypatch):
    """The pull is cut at the deadline; removing the container on the way out must not hang either."""
    monkeypatch.setattr(boot_script, "DOCKER_TIMEOUT", 1)
    host.upload(FILES)
    host.set("daemon_hangs")
    run = host.run(render_boot_script(spec()), timeout=30)
    assert_failed_cleanly(run, "could not pull snowplow/snowplow-enrich-kinesis:6.13.1")
    assert ["rm", "-f", "enrich"] in run.commands("docker")

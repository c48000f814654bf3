"""The boot script's rendered parts as bash reads them: its settings, the docker options, the pre-start steps and
the post-start file are loaded into bash (the script without its final dispatch) and compared whole, in order.

tests/test_boot_script.py runs whole boots against a fake host (seconds each); these checks take milliseconds and
pin every value the boot hands to docker, the app and the watchdog.
"""

import subprocess

import pytest

from components.apps import boot_script
from components.apps.boot_script import (
    BootSpec,
    HealthCheck,
    container_memory_mib,
    failure_path_seconds,
    render_boot_script,
    render_post_start,
)

SOURCE = "s3://config-bucket/config/enrich/0123456789abcdef/"
SHA = "ab" * 32


def spec(**overrides) -> BootSpec:
    values = dict(
        app="enrich",
        region="eu-west-1",
        config_source=SOURCE,
        manifest_sha256=SHA,
        image="snowplow/snowplow-enrich-kinesis:6.13.1",
        memory_mib=1638,
        log_group="/aws/ec2/snowplow test-enrich",
        app_args=["--config", "/snowplow/config/enrich.hocon", "two words"],
        health=HealthCheck(8000, "/health"),
    )
    values.update(overrides)
    return BootSpec(**values)


def in_bash(script: str, probe: str, **env: str) -> list[str]:
    """Load the script's settings and functions into bash (not its `boot|watchdog` dispatch), then run `probe`."""
    loaded = script[: script.index("case ${1:-boot} in")]
    run = subprocess.run(
        ["bash", "-c", loaded + "\n" + probe],
        env={"PATH": "/usr/bin:/bin", "INSTANCE_ID": "i-0abc", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


SETTINGS = [
    "APP",
    "IMAGE",
    "LOG_GROUP",
    "CONFIG_SOURCE",
    "MANIFEST",
    "MANIFEST_SHA256",
    "CONTAINER_USER",
    "RESOLVE_SECRETS",
    "HEALTH_URL",
    "HEALTHY_CHECKS",
    "RETRY_DELAY",
    "AWS_CALL_TIMEOUT",
    "MARK_ATTEMPTS",
    "DOCKER_TIMEOUT",
    "FETCH_ATTEMPTS",
    "BOOT_DEADLINE",
    "HEALTH_INTERVAL",
    "HEALTH_CHECKS",
    "MAX_BOOT_RESTARTS",
    "WATCHDOG_INTERVAL",
    "WATCHDOG_FAILURES",
    "WATCHDOG_RESTARTS",
    "WATCHDOG_WINDOW",
    "AWS_DEFAULT_REGION",
    "AWS_RETRY_MODE",
    "AWS_MAX_ATTEMPTS",
    "SNOWPLOW_ROOT",
    "SYSTEMD_DIR",
    "CONFIG_DIR",
]
PRINT_SETTINGS = f'for v in {" ".join(SETTINGS)}; do printf "%s=%s\\n" "$v" "${{!v}}"; done; for a in "${{APP_ARGS[@]}}"; do printf "[%s]\\n" "$a"; done'


def test_the_settings_bash_reads_are_the_specs_values_and_the_boot_timings():
    lines = in_bash(render_boot_script(spec(resolve_secrets=True)), PRINT_SETTINGS)
    assert lines == [
        "APP=enrich",
        "IMAGE=snowplow/snowplow-enrich-kinesis:6.13.1",
        "LOG_GROUP=/aws/ec2/snowplow test-enrich",
        f"CONFIG_SOURCE={SOURCE}",
        "MANIFEST=manifest.sha256",
        f"MANIFEST_SHA256={SHA}",
        "CONTAINER_USER=1001",
        "RESOLVE_SECRETS=1",
        "HEALTH_URL=http://127.0.0.1:8000/health",
        "HEALTHY_CHECKS=1",
        "RETRY_DELAY=5",
        "AWS_CALL_TIMEOUT=10",
        "MARK_ATTEMPTS=4",
        "DOCKER_TIMEOUT=15",
        "FETCH_ATTEMPTS=5",
        "BOOT_DEADLINE=700",
        "HEALTH_INTERVAL=10",
        "HEALTH_CHECKS=70",
        "MAX_BOOT_RESTARTS=3",
        "WATCHDOG_INTERVAL=30",
        "WATCHDOG_FAILURES=10",
        "WATCHDOG_RESTARTS=3",
        "WATCHDOG_WINDOW=20",
        "AWS_DEFAULT_REGION=eu-west-1",
        "AWS_RETRY_MODE=standard",
        "AWS_MAX_ATTEMPTS=5",
        "SNOWPLOW_ROOT=/opt/snowplow",
        "SYSTEMD_DIR=/etc/systemd/system",
        "CONFIG_DIR=/opt/snowplow/config",
        "[--config]",
        "[/snowplow/config/enrich.hocon]",
        "[two words]",
    ]


def test_an_app_without_a_health_endpoint_must_stay_up_for_six_checks_and_secrets_are_left_alone():
    lines = in_bash(
        render_boot_script(spec(health=HealthCheck(8080), app_args=[], container_user="0")),
        PRINT_SETTINGS,
        SNOWPLOW_ROOT="/tmp/sp",
        SYSTEMD_DIR="/tmp/units",
    )
    values = dict(line.split("=", 1) for line in lines)
    assert (values["HEALTH_URL"], values["HEALTHY_CHECKS"], values["RESOLVE_SECRETS"]) == ("", "6", "0")
    assert values["CONTAINER_USER"] == "0"
    assert (values["SNOWPLOW_ROOT"], values["SYSTEMD_DIR"], values["CONFIG_DIR"]) == (
        "/tmp/sp",
        "/tmp/units",
        "/tmp/sp/config",
    )
    assert not [line for line in lines if line.startswith("[")]  # no app arguments
    assert "APP_ARGS=()" in render_boot_script(spec(app_args=[])).splitlines()


def test_docker_runs_the_app_on_the_host_network_with_its_memory_logs_config_and_environment():
    script = render_boot_script(spec(env={"ENRICH_OPTS": "a b", "X": "y"}))
    assert in_bash(script, 'set_run_options; printf "[%s]\\n" "${RUN_OPTIONS[@]}"', CONFIG_DIR="ignored") == [
        "[--network]",
        "[host]",
        "[--memory=1638m]",
        "[--log-driver]",
        "[awslogs]",
        "[--log-opt]",
        "[awslogs-region=eu-west-1]",
        "[--log-opt]",
        "[awslogs-group=/aws/ec2/snowplow test-enrich]",
        "[--log-opt]",
        "[awslogs-stream=i-0abc]",
        "[--volume]",
        "[/opt/snowplow/config:/snowplow/config:ro]",
        "[--env]",
        "[SNOWPLOW_INSTANCE_ID=i-0abc]",
        "[--env]",
        "[ACCEPT_LIMITED_USE_LICENSE=yes]",
        "[--env]",
        "[AWS_REGION=eu-west-1]",
        "[--env]",
        "[JDK_JAVA_OPTIONS=-XX:InitialRAMPercentage=75 -XX:MaxRAMPercentage=75]",
        "[--env]",
        "[ENRICH_OPTS=a b]",
        "[--env]",
        "[X=y]",
    ]


def test_an_apps_own_environment_overrides_the_defaults():
    script = render_boot_script(spec(env={"JDK_JAVA_OPTIONS": "-Xmx1g"}))
    options = in_bash(script, 'set_run_options; printf "[%s]\\n" "${RUN_OPTIONS[@]}"')
    assert "[JDK_JAVA_OPTIONS=-Xmx1g]" in options and not any("RAMPercentage" in o for o in options)


STUBS = """
log() { echo "log [$*]"; }
in_time() { printf 'in_time'; printf ' [%s]' "$@"; echo; }
fail() { echo "fail [$1]"; }
pre_start_step() { printf 'pre_start_step'; printf ' [%s]' "$@"; echo; }
why() { echo "why($1)"; }
"""


def test_pre_start_runs_host_scripts_then_each_step_in_order_with_its_arguments():
    script = render_boot_script(
        spec(host_scripts=["opensearch-setup.sh", "odd name.sh"], pre_start=[["--migrate"], ["setup", "two words"]])
    )
    assert in_bash(script, STUBS + "run_pre_start; echo returned $?") == [
        "log [host script opensearch-setup.sh]",
        "in_time [env] [CONFIG_DIR=/opt/snowplow/config] [bash] [/opt/snowplow/config/opensearch-setup.sh]",
        "log [host script odd name.sh]",
        "in_time [env] [CONFIG_DIR=/opt/snowplow/config] [bash] [/opt/snowplow/config/odd name.sh]",
        "pre_start_step [1] [pre-start step 1 (--migrate)] [--migrate]",
        "pre_start_step [2] [pre-start step 2 (setup two words)] [setup] [two words]",
        "returned 0",
    ]


def test_a_failing_host_script_fails_the_boot_naming_it():
    script = render_boot_script(spec(host_scripts=["setup.sh"]))
    probe = STUBS.replace("echo; }\nfail", "echo; return 3; }\nfail") + "run_pre_start"
    assert in_bash(script, probe) == [
        "log [host script setup.sh]",
        "in_time [env] [CONFIG_DIR=/opt/snowplow/config] [bash] [/opt/snowplow/config/setup.sh]",
        "fail [why(host script setup.sh failed)]",
    ]


def test_without_pre_start_work_nothing_runs_before_the_app():
    assert in_bash(render_boot_script(spec()), STUBS + "run_pre_start; echo returned $?") == ["returned 0"]


def test_the_post_start_file_is_written_verbatim_and_stops_at_the_first_failure(tmp_path):
    lines = ["aws ssm put-parameter --name \"/x/$INSTANCE_ID\" --value '$HOME'", "echo done"]
    script = render_boot_script(spec(post_start=lines))
    in_bash(script, f"write_post_start {tmp_path}/post-start.sh")
    written = (tmp_path / "post-start.sh").read_text()
    assert (
        written
        == render_post_start(spec(post_start=lines))
        == "\n".join(
            [
                "#!/bin/bash",
                "# Runs once the app is healthy. Environment: INSTANCE_ID, APP, HEALTH_URL, CONFIG_DIR, AWS_DEFAULT_REGION.",
                "set -euo pipefail",
                *lines,
                "",
            ]
        )
    )
    failing = tmp_path / "failing.sh"
    failing.write_text(render_post_start(spec(post_start=["false", "echo not reached"])))
    run = subprocess.run(["bash", str(failing)], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (1, "")


def test_a_post_start_line_that_would_end_its_here_document_is_refused():
    with pytest.raises(ValueError, match="^a post-start line may not be exactly 'POST_START'$"):
        render_boot_script(spec(post_start=["echo a", "POST_START"]))
    assert "  POST_START" in render_boot_script(spec(post_start=["  POST_START"]))


def test_the_script_is_bash_with_strict_mode_and_no_comment_lines_of_the_templates():
    script = render_boot_script(spec())
    lines = script.splitlines()
    assert lines[:4] == [
        "#!/bin/bash",
        "# Snowplow enrich: bootstrap only; config is fetched from S3 with the instance role and verified.",
        "# Rendered by components/apps/boot_script.py, where each step is explained.",
        "set -Eeuo pipefail",
    ]
    post_start_comment = render_post_start(spec()).splitlines()[1]
    assert [line for line in lines if line.lstrip().startswith("# ")] == [*lines[1:3], post_start_comment]
    assert script.endswith("esac\n") and "\n\n\n" not in script
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_user_data_up_to_the_ec2_limit_is_accepted_and_one_byte_more_refused_naming_the_app():
    base = len(render_boot_script(spec(post_start=["#"])).encode())
    padding = "#" + "x" * (boot_script.USER_DATA_LIMIT - base)
    assert len(render_boot_script(spec(post_start=[padding])).encode()) == 16384
    with pytest.raises(ValueError) as refused:
        render_boot_script(spec(post_start=[padding + "x"]))
    assert str(refused.value) == "the boot script of enrich is 16385 bytes; EC2 user data takes at most 16384"


def test_a_failed_boot_is_marked_within_the_grace_period():
    # remove two containers (2 x 15 s), log the reason (2 x 10 s), four marking calls of 10 s and 5+10+20 s of backoff
    assert failure_path_seconds() == 2 * 15 + 2 * 10 + 4 * 10 + 35
    assert boot_script.BOOT_DEADLINE + failure_path_seconds() + boot_script.OS_START_ALLOWANCE <= boot_script.BOOT_GRACE


@pytest.mark.parametrize(
    ("instance_mib", "container_mib"),
    [(8192, 6553), (4096, 3276), (2048, 1638), (1920, 1536), (1919, 1535), (1024, 640), (512, 128)],
)
def test_the_container_gets_80_percent_of_memory_but_the_os_keeps_384_mib(instance_mib, container_mib):
    assert container_memory_mib(instance_mib) == container_mib


def test_health_urls_are_on_localhost():
    assert HealthCheck(8080, "/api/meta/health").url == "http://127.0.0.1:8080/api/meta/health"
    assert HealthCheck(9000).url == ""

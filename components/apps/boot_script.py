"""The instance bootstrap (EC2 user data) and the health watchdog it installs, rendered as bash.

Boot, in order: learn the instance id, install Docker, fetch the app's config from S3 (retried with backoff)
and verify it against the checksum manifest, resolve secret placeholders (waiting a while for a secret that
has no value yet), make the files readable only by the container's user, pull the pinned image, run the
pre-start steps, start the app, wait until it is healthy, run the post-start lines, then hand over to a
systemd watchdog. Every step is cut off at the boot deadline. Any failure is logged (stderr, i.e. the
console and cloud-init log, and the `<instance-id>-health` stream of the app's log group), the container is
removed, and the instance is marked Unhealthy so its autoscaling group replaces it. Running the script
again on a booted instance replaces the container instead of failing on it.

The script holds no configuration values and no secrets, only where to fetch them and their checksums.
Directories can be moved with SNOWPLOW_ROOT and SYSTEMD_DIR so that tests run it without root.
"""

import shlex
from dataclasses import dataclass, field

from components.apps.config_bundle import MANIFEST_NAME

CONTAINER_CONFIG_DIR = "/snowplow/config"
SECRET_TOKEN_PREFIX = "{{resolve:secretsmanager:"
OS_RESERVE_MIB = 384
# The UID Snowplow's (non-distroless) images run as: sbt-snowplow-release's SnowplowDockerPlugin sets
# daemonUser "snowplow" and no daemonUserUid, so sbt-native-packager's default applies (daemonUserUid 1001,
# group 0: `USER 1001:0`). Collector 3.x, Enrich 6.x and S3 Loader 3.x all build with that plugin.
SNOWPLOW_IMAGE_UID = "1001"
USER_DATA_LIMIT = 16384  # bytes EC2 accepts before base64

# Seconds. Every boot step is cut off at BOOT_DEADLINE (counted from the script's start), and a failed
# boot then marks the instance Unhealthy within failure_path_seconds(). The group's health check grace
# period and the instance refresh warm-up are BOOT_GRACE, which covers both plus the time the OS takes to
# start the script, so neither acts on an instance that is still booting, and a refresh only moves on once
# a new instance has proved healthy or been marked Unhealthy by its own boot.
BOOT_DEADLINE = 700
BOOT_GRACE = 900
OS_START_ALLOWANCE = 60  # launch to cloud-init's user-data stage on AL2023 (typically 20-40 s)
RETRY_DELAY = 5
AWS_CALL_TIMEOUT = 10  # each AWS call on the failure path (logging the reason, marking the instance)
MARK_ATTEMPTS = 4
DOCKER_TIMEOUT = 15  # a `docker inspect` that takes longer counts as a failed health check; also `docker rm`
SECRET_WAIT_ATTEMPTS = 30  # a secret without a value yet is looked up again this many times ...
SECRET_WAIT_INTERVAL = 10  # ... this many seconds apart (5 minutes), then the boot fails
HEALTH_INTERVAL = 10
MAX_BOOT_RESTARTS = 3
STABLE_CHECKS = 6  # apps without a health endpoint must run this many checks in a row without a restart
WATCHDOG_INTERVAL = 30
WATCHDOG_FAILURES = 10  # consecutive failed checks (5 minutes) before the instance is replaced
WATCHDOG_RESTARTS = 3  # restarts within WATCHDOG_WINDOW checks that count as a crash loop
WATCHDOG_WINDOW = 20
FETCH_ATTEMPTS = 5


def failure_path_seconds() -> int:
    """Longest time from a failed step to the instance marked Unhealthy (or powered off): remove the
    pre-start and app containers, log the reason, mark with backoff."""
    remove_containers = 2 * DOCKER_TIMEOUT
    log_reason = 2 * AWS_CALL_TIMEOUT
    backoff = sum(RETRY_DELAY * 2**i for i in range(MARK_ATTEMPTS - 1))
    return remove_containers + log_reason + MARK_ATTEMPTS * AWS_CALL_TIMEOUT + backoff


def container_memory_mib(instance_mib: int) -> int:
    """80% of the instance's memory for the container, unless that leaves the OS under 384 MiB."""
    share = int(instance_mib * 0.8)
    return share if instance_mib - share >= OS_RESERVE_MIB else instance_mib - OS_RESERVE_MIB


@dataclass(frozen=True)
class HealthCheck:
    """How the boot and the watchdog tell the app is healthy: HTTP GET on localhost, or just "running"."""

    port: int
    path: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}" if self.path else ""


@dataclass(frozen=True)
class BootSpec:
    app: str
    region: str
    config_source: str  # s3://bucket/prefix/
    manifest_sha256: str
    image: str
    memory_mib: int
    log_group: str
    app_args: list[str]
    health: HealthCheck
    env: dict[str, str] = field(default_factory=dict)
    resolve_secrets: bool = False
    pre_start: list[list[str]] = field(default_factory=list)
    post_start: list[str] = field(default_factory=list)
    container_user: str = SNOWPLOW_IMAGE_UID
    host_scripts: list[str] = field(default_factory=list)


# Replaces every {{resolve:secretsmanager:<arn>}} in the staged config files with the secret's value,
# JSON-escaped so it stays valid inside the JSON/HOCON string it sits in. A secret without a value yet
# (ResourceNotFoundException: no AWSCURRENT, e.g. a key another app writes at its first boot) is looked up
# again; progress goes to stderr, the reason of a failure to stdout, naming the ARN, never a value.
# argv: the staged config dir, the aws CLI found on the boot script's PATH, attempts, seconds between them.
_RESOLVE_SECRETS = r"""
import json, pathlib, re, subprocess, sys, time
placeholder = re.compile(r"\{\{resolve:secretsmanager:([^}]+)\}\}")
attempts, interval = int(sys.argv[3]), int(sys.argv[4])
cache = {}
def fail(reason):
    print(f"secret lookup failed for {reason}")
    sys.exit(1)
def value(arn):
    if arn in cache:
        return cache[arn]
    for attempt in range(1, attempts + 1):
        run = subprocess.run([sys.argv[2], "secretsmanager", "get-secret-value", "--secret-id", arn,
                              "--query", "SecretString", "--output", "text"], capture_output=True, text=True)
        if run.returncode == 0:
            cache[arn] = json.dumps(run.stdout.rstrip("\n"))[1:-1]
            return cache[arn]
        if "ResourceNotFoundException" not in run.stderr:
            fail(f"{arn}: {run.stderr.strip()[-300:]}")
        if attempt < attempts:
            print(f"no value in {arn} yet ({attempt}/{attempts}); looking again in {interval}s", file=sys.stderr)
            time.sleep(interval)
    fail(f"{arn}: no value after {attempts} lookups {interval}s apart")
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*")):
    if path.is_file():
        text = path.read_text()
        if placeholder.search(text):
            path.write_text(placeholder.sub(lambda m: value(m.group(1)), text))
"""

# Shared by the boot script and the watchdog.
_COMMON = r"""
log() { printf '%s snowplow-%s: %s\n' "$(date -u +%FT%TZ)" "$APP" "$*" >&2; }

# retry ATTEMPTS COMMAND...: run COMMAND until it succeeds, doubling the pause between attempts. A step
# bounded by the boot deadline (`retry N in_time ...`) is not tried again past it.
retry() {
  local attempts=$1 delay=$RETRY_DELAY attempt
  shift
  for ((attempt = 1; ; attempt++)); do
    "$@" && return 0
    ((attempt < attempts)) || return 1
    [[ $1 != in_time ]] || ((SECONDS + delay < BOOT_DEADLINE)) || return 1
    log "attempt $attempt/$attempts of '$*' failed; retrying in ${delay}s"
    sleep "$delay"
    delay=$((delay * 2))
  done
}

# An AWS call on the failure path, cut off so that marking the instance fits in the grace period.
aws_call() { timeout --kill-after=5 "$AWS_CALL_TIMEOUT" aws "$@"; }

# Best effort: boot and health outcomes outlive the instance in the app's log group.
send_to_log_group() {
  local stream="$INSTANCE_ID-health" events
  events=$(python3 -c 'import json, sys, time; print(json.dumps([{"timestamp": int(time.time() * 1000), "message": sys.argv[1]}]))' "$1") || return 1
  aws_call logs create-log-stream --log-group-name "$LOG_GROUP" --log-stream-name "$stream" >/dev/null 2>&1 || true
  aws_call logs put-log-events --log-group-name "$LOG_GROUP" --log-stream-name "$stream" --log-events "$events" >/dev/null
}

# The group replaces this instance, even inside its health check grace period; if that call cannot be
# made, powering off has the same effect (a stopped instance fails the EC2 health check).
mark_unhealthy() {
  log "marking ${INSTANCE_ID:-this instance} Unhealthy: $1"
  send_to_log_group "$1" || log "could not write the reason to $LOG_GROUP"
  if [[ -n ${INSTANCE_ID:-} ]] && retry "$MARK_ATTEMPTS" aws_call autoscaling set-instance-health \
    --instance-id "$INSTANCE_ID" --health-status Unhealthy --no-should-respect-grace-period; then
    return 0
  fi
  log "could not mark the instance Unhealthy; powering off so the group replaces it"
  systemctl poweroff
}

# Healthy: the container runs and, if the app has a health endpoint, it answers 2xx.
# Sets RESTARTS (the container's restart count) and HEALTH_ERROR.
check_app() {
  local state code status=0
  HEALTH_ERROR=""
  state=$(timeout --kill-after=5 "$DOCKER_TIMEOUT" docker inspect --format '{{.State.Running}} {{.RestartCount}}' \
    "$APP" 2>/dev/null) || status=$?
  if ((status == 124 || status == 137)); then
    HEALTH_ERROR="docker did not answer within ${DOCKER_TIMEOUT}s"
    return 1
  elif ((status != 0)); then
    HEALTH_ERROR="container $APP does not exist"
    return 1
  fi
  RESTARTS=${state##* }
  [[ $RESTARTS =~ ^[0-9]+$ ]] || RESTARTS=0
  if [[ ${state%% *} != true ]]; then
    HEALTH_ERROR="container $APP is not running"
    return 1
  fi
  [[ -n $HEALTH_URL ]] || return 0
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$HEALTH_URL" 2>/dev/null) || code=000
  if [[ $code != 2?? ]]; then
    HEALTH_ERROR="GET $HEALTH_URL answered $code"
    return 1
  fi
}
"""

_BOOT = r"""
CONFIG_DIR=$SNOWPLOW_ROOT/config
STAGING=$SNOWPLOW_ROOT/staging
INSTANCE_ID=${INSTANCE_ID:-}
RESTARTS=0
HEALTH_ERROR=""
FETCH_ERROR=""
RUN_OPTIONS=()

# in_time COMMAND...: run COMMAND, cut off (status 124) when the boot deadline passes.
in_time() {
  local left=$((BOOT_DEADLINE - SECONDS))
  ((left > 0)) || return 124
  timeout --kill-after=10 "$left" "$@"
}

# why REASON: REASON, saying so when the boot deadline is what stopped the step.
why() {
  if ((SECONDS >= BOOT_DEADLINE)); then
    echo "$1: the boot deadline (${BOOT_DEADLINE}s) passed"
  else
    echo "$1"
  fi
}

fail() {
  trap - ERR
  set +e
  log "BOOT FAILED: $1"
  if command -v docker >/dev/null; then
    timeout "$DOCKER_TIMEOUT" docker rm -f "$APP" >/dev/null 2>&1
  fi
  mark_unhealthy "boot failed: $1"
  exit 1
}

instance_identity() {
  local token
  token=$(curl -sf --max-time 5 -X PUT http://169.254.169.254/latest/api/token \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 300") &&
    INSTANCE_ID=$(curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
      http://169.254.169.254/latest/meta-data/instance-id) &&
    [[ -n $INSTANCE_ID ]]
}

install_docker() {
  retry 3 in_time dnf install -y docker && in_time systemctl enable --now docker
}

# The staged files must be exactly those in the manifest, with their checksums, and the manifest must be
# the one this user data was rendered with.
verify_config() {
  local manifest=$STAGING/$MANIFEST report listed present
  if [[ ! -f $manifest ]]; then
    FETCH_ERROR="no $MANIFEST under $CONFIG_SOURCE (empty or incomplete prefix)"
    return 1
  fi
  if [[ $(sha256sum <"$manifest") != "$MANIFEST_SHA256  -" ]]; then
    FETCH_ERROR="$MANIFEST under $CONFIG_SOURCE is not the one this instance was launched with"
    return 1
  fi
  if ! report=$(cd "$STAGING" && sha256sum --check --strict --quiet "$MANIFEST" 2>&1); then
    FETCH_ERROR="config files do not match $MANIFEST: $(tr '\n' ' ' <<<"$report")"
    return 1
  fi
  listed=$(cut -c 67- "$manifest" | sort)
  present=$(cd "$STAGING" && find . -type f ! -path "./$MANIFEST" | cut -c 3- | sort)
  if [[ $listed != "$present" ]]; then
    FETCH_ERROR="unexpected files under $CONFIG_SOURCE: $(comm -13 <(echo "$listed") <(echo "$present") | tr '\n' ' ')"
    return 1
  fi
}

fetch_config() {
  local attempt delay=$RETRY_DELAY
  for ((attempt = 1; attempt <= FETCH_ATTEMPTS; attempt++)); do
    rm -rf "$STAGING"
    mkdir -p "$STAGING"
    if in_time aws s3 cp --recursive --only-show-errors "$CONFIG_SOURCE" "$STAGING/" && verify_config; then
      log "config verified against $MANIFEST"
      return 0
    fi
    FETCH_ERROR=$(why "${FETCH_ERROR:-"aws s3 cp $CONFIG_SOURCE failed"}")
    log "config fetch $attempt/$FETCH_ATTEMPTS failed: $FETCH_ERROR"
    ((SECONDS + delay < BOOT_DEADLINE)) || return 1
    if ((attempt < FETCH_ATTEMPTS)); then
      FETCH_ERROR=""
      sleep "$delay"
      delay=$((delay * 2))
    fi
  done
  return 1
}

# Only the container's user may read the files: some carry resolved secrets.
install_config() {
  rm -rf "$CONFIG_DIR" &&
    mv "$STAGING" "$CONFIG_DIR" &&
    chown -R "$CONTAINER_USER" "$CONFIG_DIR" &&
    find "$CONFIG_DIR" -type d -exec chmod 0500 {} + &&
    find "$CONFIG_DIR" -type f -exec chmod 0400 {} +
}

wait_until_healthy() {
  local check stable=0
  for ((check = 1; check <= HEALTH_CHECKS && SECONDS < BOOT_DEADLINE; check++)); do
    sleep "$HEALTH_INTERVAL"
    if check_app; then
      stable=$((stable + 1))
    else
      stable=0
    fi
    if ((RESTARTS >= MAX_BOOT_RESTARTS)); then
      HEALTH_ERROR="container $APP restarted $RESTARTS times (crash loop)"
      return 1
    fi
    if ((stable >= HEALTHY_CHECKS)); then
      return 0
    fi
  done
  HEALTH_ERROR="not healthy within the boot deadline: ${HEALTH_ERROR:-no healthy check}"
  return 1
}

run_post_start() {
  INSTANCE_ID=$INSTANCE_ID APP=$APP HEALTH_URL=$HEALTH_URL CONFIG_DIR=$CONFIG_DIR \
    in_time bash "$SNOWPLOW_ROOT/post-start.sh"
}

# pre_start_step NUMBER LABEL ARG...: a one-off run of the image to completion; a failure fails the boot.
# Cutting off the docker client leaves the container running, so it is removed (as is one an earlier run
# of this script left).
pre_start_step() {
  local name="$APP-pre-start-$1" label=$2 status=0
  shift 2
  log "$label"
  timeout "$DOCKER_TIMEOUT" docker rm -f "$name" >/dev/null 2>&1 || true
  in_time docker run --rm --name "$name" "${RUN_OPTIONS[@]}" "$IMAGE" "$@" || status=$?
  ((status != 0)) || return 0
  timeout "$DOCKER_TIMEOUT" docker rm -f "$name" >/dev/null 2>&1 || true
  fail "$(why "$label exited with $status")"
}

install_watchdog() {
  cp -- "${BASH_SOURCE[0]}" "$SNOWPLOW_ROOT/snowplow.sh" || return 1
  printf 'INSTANCE_ID=%s\n' "$INSTANCE_ID" >"$SNOWPLOW_ROOT/watchdog.env" || return 1
  cat >"$SYSTEMD_DIR/snowplow-watchdog.service" <<UNIT || return 1
[Unit]
Description=Marks this instance Unhealthy when the Snowplow $APP container stays unhealthy
After=docker.service

[Service]
EnvironmentFile=$SNOWPLOW_ROOT/watchdog.env
ExecStart=/bin/bash $SNOWPLOW_ROOT/snowplow.sh watchdog
Restart=on-failure
RestartSec=30

[Install]
WantedBy=multi-user.target
UNIT
  timeout 30 systemctl daemon-reload && timeout 30 systemctl enable --now snowplow-watchdog.service
}

boot() {
  trap 'fail "unexpected error at line $LINENO: $BASH_COMMAND"' ERR
  log "boot of $IMAGE started"
  mkdir -p "$SNOWPLOW_ROOT"
  retry 5 instance_identity || fail "could not read the instance id from the instance metadata service"
  install_docker || fail "$(why "could not install and start Docker")"
  umask 077 # from here on, files may hold secrets
  fetch_config || fail "$FETCH_ERROR"
  if ((RESOLVE_SECRETS)); then
    local resolved
    resolved=$(resolve_secrets "$STAGING") || fail "$(why "${resolved:-secret resolution failed}")"
  fi
  install_config || fail "could not install the config files under $CONFIG_DIR"
  set_run_options
  retry 5 in_time docker pull --quiet "$IMAGE" >/dev/null || fail "$(why "could not pull $IMAGE")"
  run_pre_start
  timeout "$DOCKER_TIMEOUT" docker rm -f "$APP" >/dev/null 2>&1 || true # left by an earlier run of this script
  in_time docker run --detach --name "$APP" --restart always "${RUN_OPTIONS[@]}" "$IMAGE" "${APP_ARGS[@]}" \
    >/dev/null || fail "$(why "docker run of $IMAGE failed")"
  wait_until_healthy || fail "$HEALTH_ERROR"
  log "app is healthy"
  write_post_start "$SNOWPLOW_ROOT/post-start.sh"
  local status=0
  run_post_start || status=$?
  ((status == 0)) || fail "$(why "a post-start step failed (exit $status)")"
  install_watchdog || fail "could not install and start the health watchdog"
  send_to_log_group "boot complete: $IMAGE healthy" || true
  log "boot complete"
}
"""

# `snowplow.sh watchdog`, run by systemd once the boot is complete.
_WATCHDOG = r"""
watchdog() {
  : "${INSTANCE_ID:?set by watchdog.env}"
  local failures=0 rounds=0 reason window
  check_app || true
  window=("$RESTARTS")
  while :; do
    sleep "$WATCHDOG_INTERVAL"
    reason=""
    if check_app; then
      failures=0
    else
      failures=$((failures + 1))
      log "health check failed ($failures/$WATCHDOG_FAILURES): $HEALTH_ERROR"
    fi
    window+=("$RESTARTS")
    if ((${#window[@]} > WATCHDOG_WINDOW)); then
      window=("${window[@]:1}")
    fi
    if ((RESTARTS - window[0] >= WATCHDOG_RESTARTS)); then
      reason="container $APP restarted $((RESTARTS - window[0])) times within $((${#window[@]} * WATCHDOG_INTERVAL))s (crash loop)"
    elif ((failures >= WATCHDOG_FAILURES)); then
      reason="unhealthy for $failures checks in a row: $HEALTH_ERROR"
    fi
    if [[ -n $reason ]]; then
      mark_unhealthy "$reason"
      return 0
    fi
    rounds=$((rounds + 1))
    if [[ -n ${WATCHDOG_ROUNDS:-} ]] && ((rounds >= WATCHDOG_ROUNDS)); then
      return 0
    fi
  done
}

case ${1:-boot} in
  boot) boot ;;
  watchdog) watchdog ;;
  *)
    log "usage: $0 [boot|watchdog]"
    exit 2
    ;;
esac
"""


def _without_comments(template: str) -> str:
    """A template's comment lines are for readers of this module; user data has to fit in EC2's 16 KB."""
    return "\n".join(line for line in template.strip("\n").splitlines() if not line.lstrip().startswith("# "))


def _assign(name: str, value: str | int) -> str:
    return f"{name}={shlex.quote(str(value))}"


def _array(name: str, items: list[str]) -> str:
    if not items:
        return f"{name}=()"
    return f"{name}=(\n" + "".join(f"  {item}\n" for item in items) + ")"


def render_post_start(spec: BootSpec) -> str:
    """Shell lines run on the host once the app is healthy; any failing line fails the boot."""
    return "\n".join(
        [
            "#!/bin/bash",
            "# Runs once the app is healthy. Environment: INSTANCE_ID, APP, HEALTH_URL, CONFIG_DIR, AWS_DEFAULT_REGION.",
            "set -euo pipefail",
            *spec.post_start,
            "",
        ]
    )


def _post_start_writer(spec: BootSpec) -> str:
    body = render_post_start(spec)
    if any(line == "POST_START" for line in body.splitlines()):
        raise ValueError("a post-start line may not be exactly 'POST_START'")
    return f"write_post_start() {{\n  cat >\"$1\" <<'POST_START'\n{body}POST_START\n}}"


def _docker_options(spec: BootSpec) -> list[str]:
    env = {
        "ACCEPT_LIMITED_USE_LICENSE": "yes",
        "AWS_REGION": spec.region,
        "JDK_JAVA_OPTIONS": "-XX:InitialRAMPercentage=75 -XX:MaxRAMPercentage=75",
        **spec.env,
    }
    return [
        "--network host",
        f"--memory={spec.memory_mib}m",
        "--log-driver awslogs",
        f"--log-opt awslogs-region={shlex.quote(spec.region)}",
        f"--log-opt {shlex.quote('awslogs-group=' + spec.log_group)}",
        '--log-opt "awslogs-stream=$INSTANCE_ID"',
        f'--volume "$CONFIG_DIR:{CONTAINER_CONFIG_DIR}:ro"',
        # Apps whose instances need a name of their own (e.g. a Snowflake channel prefix) read it as ${SNOWPLOW_INSTANCE_ID}.
        '--env "SNOWPLOW_INSTANCE_ID=$INSTANCE_ID"',
        *(f"--env {shlex.quote(f'{k}={v}')}" for k, v in env.items()),
    ]


def _pre_start_function(spec: BootSpec) -> str:
    """Host scripts from the config (as root, CONFIG_DIR set), then one-off runs of the image with the app's
    config, env and secrets, each to completion, before the app."""
    lines = ["run_pre_start() {"]
    for path in spec.host_scripts:
        label = shlex.quote(f"host script {path}")
        lines.append(
            f'  log {label}; in_time env CONFIG_DIR="$CONFIG_DIR" bash "$CONFIG_DIR"/{shlex.quote(path)} '
            f'|| fail "$(why {shlex.quote(f"host script {path} failed")})"'
        )
    for number, step in enumerate(spec.pre_start, start=1):
        label = shlex.quote(f"pre-start step {number} ({' '.join(step)})")
        lines.append(f"  pre_start_step {number} {label} " + " ".join(shlex.quote(a) for a in step))
    lines += ["  return 0", "}"]
    return "\n".join(lines)


def _settings(spec: BootSpec) -> list[str]:
    return [
        _assign("APP", spec.app),
        _assign("IMAGE", spec.image),
        _assign("LOG_GROUP", spec.log_group),
        _assign("CONFIG_SOURCE", spec.config_source),
        _assign("MANIFEST", MANIFEST_NAME),
        _assign("MANIFEST_SHA256", spec.manifest_sha256),
        _assign("CONTAINER_USER", spec.container_user),
        _assign("RESOLVE_SECRETS", int(spec.resolve_secrets)),
        _assign("HEALTH_URL", spec.health.url),
        _assign("HEALTHY_CHECKS", 1 if spec.health.path else STABLE_CHECKS),
        _assign("RETRY_DELAY", RETRY_DELAY),
        _assign("AWS_CALL_TIMEOUT", AWS_CALL_TIMEOUT),
        _assign("MARK_ATTEMPTS", MARK_ATTEMPTS),
        _assign("DOCKER_TIMEOUT", DOCKER_TIMEOUT),
        _assign("FETCH_ATTEMPTS", FETCH_ATTEMPTS),
        _assign("BOOT_DEADLINE", BOOT_DEADLINE),
        _assign("HEALTH_INTERVAL", HEALTH_INTERVAL),
        _assign("HEALTH_CHECKS", BOOT_DEADLINE // HEALTH_INTERVAL),
        _assign("MAX_BOOT_RESTARTS", MAX_BOOT_RESTARTS),
        _assign("WATCHDOG_INTERVAL", WATCHDOG_INTERVAL),
        _assign("WATCHDOG_FAILURES", WATCHDOG_FAILURES),
        _assign("WATCHDOG_RESTARTS", WATCHDOG_RESTARTS),
        _assign("WATCHDOG_WINDOW", WATCHDOG_WINDOW),
        f"export AWS_DEFAULT_REGION={shlex.quote(spec.region)} AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=5",
        "SNOWPLOW_ROOT=${SNOWPLOW_ROOT:-/opt/snowplow}",
        "SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}",
        _array("APP_ARGS", [shlex.quote(a) for a in spec.app_args]),
    ]


def render_boot_script(spec: BootSpec) -> str:
    """The user data of one app's launch template; run again as `snowplow.sh watchdog` by systemd."""
    functions = [
        "set_run_options() {\n  " + _array("RUN_OPTIONS", _docker_options(spec)).replace("\n", "\n  ") + "\n}",
        _pre_start_function(spec),
        _post_start_writer(spec),
        'resolve_secrets() {\n  in_time python3 - "$1" "$(command -v aws)" '
        f"{SECRET_WAIT_ATTEMPTS} {SECRET_WAIT_INTERVAL} <<'RESOLVE_SECRETS'" + _RESOLVE_SECRETS + "RESOLVE_SECRETS\n}",
    ]
    script = "\n".join(
        [
            "#!/bin/bash",
            f"# Snowplow {spec.app}: bootstrap only; config is fetched from S3 with the instance role and verified.",
            "# Rendered by components/apps/boot_script.py, where each step is explained.",
            "set -Eeuo pipefail",
            *_settings(spec),
            _without_comments(_COMMON),
            *functions,
            _without_comments(_BOOT),
            _without_comments(_WATCHDOG),
            "",
        ]
    )
    size = len(script.encode())
    if size > USER_DATA_LIMIT:
        raise ValueError(
            f"the boot script of {spec.app} is {size} bytes; EC2 user data takes at most {USER_DATA_LIMIT}"
        )
    return script

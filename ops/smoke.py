"""Smoke test a deployed stack: send tracker events, then find them in raw, in enriched (or the lake), and in bad-1.

Success is decided by evidence only: the three events this run sends carry a fresh run id (in the app id, the
structured event's label, the link click's element id and a web_page context). The run passes when each of their
three event ids is found as an enriched event with this run's app id (enriched stream or lake); raw and bad-1 are
read alongside, so a failure names the stage that lost the events.

Exit codes: 0 ok; 2 usage (bad arguments, unreadable outputs, no Pulumi CLI); 3 collector unreachable or refusing
events; 4 the events never reached the raw stream; 5 they reached raw but not enriched (nor the lake); 6 some are
bad rows in bad-1 (messages printed); 7 AWS access failed (credentials, permissions, endpoint).
"""

import argparse
import logging
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import requests
from snowplow_tracker import Emitter, SelfDescribingJson, Tracker
from snowplow_tracker.events import PageView, SelfDescribing, StructuredEvent

from ops import aws
from ops.formats import FormatError, enriched_lines, parse_enriched, read_bad_row, read_raw_record
from ops.outputs import OutputsError, StackOutputs, from_file, from_pulumi, parse_outputs
from ops.streams import StreamReader

EXIT_OK, EXIT_USAGE, EXIT_COLLECTOR, EXIT_NO_RAW, EXIT_NO_ENRICHED, EXIT_BAD_ROWS, EXIT_AWS = 0, 2, 3, 4, 5, 6, 7

LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
SMOKE_SITE = "https://smoke.snowplow-pulumi.invalid"
# The emitter must send once and report: it would otherwise retry failed requests on a timer in the background.
NO_RETRY = {code: False for code in (-1, *range(300, 600))}
EVENT_NAMES = {"pv": "page view", "se": "structured event", "ue": "self-describing event"}


class SmokeFailure(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Progress:
    """Timestamped progress lines, so no wait is silent."""

    def __init__(self, stream=None):
        self.started = time.monotonic()
        self.stream = stream or sys.stdout

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {message}", file=self.stream, flush=True)


@dataclass
class Evidence:
    """What the run found, per event id."""

    sent: dict[str, str] = field(default_factory=dict)  # event id -> event type (pv, se, ue)
    raw: dict[str, str] = field(default_factory=dict)
    raw_undecoded: list[str] = field(default_factory=list)  # errors of raw records that mention the run id
    enriched: dict[str, str] = field(default_factory=dict)
    lake: dict[str, str] = field(default_factory=dict)
    bad: dict[str, list[str]] = field(default_factory=dict)  # bad row kind: messages, per matching bad row
    bad_events: set[str] = field(default_factory=set)
    malformed_enriched: int = 0

    def missing(self, found: dict[str, str] | set[str]) -> list[str]:
        return [eid for eid in self.sent if eid not in found]


@dataclass(frozen=True)
class Run:
    run_id: str
    app_id: str
    started: datetime  # reads start from here: slightly before the run, allowing for clock skew


def describe_missing(evidence: Evidence, eids: list[str]) -> str:
    return ", ".join(f"{EVENT_NAMES.get(evidence.sent[e], evidence.sent[e])} {e}" for e in eids)


# --- collector ------------------------------------------------------------------------------------------------


def _request_error(err: requests.RequestException) -> str:
    if isinstance(err, requests.exceptions.SSLError):
        return f"TLS error ({err})"
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(err, requests.exceptions.ReadTimeout):
        return "connected but no answer in time"
    if isinstance(err, requests.exceptions.ConnectionError):
        text = str(err)
        if re.search(r"Name or service not known|nodename nor servname|name resolution|getaddrinfo", text):
            return "cannot resolve the host name"
        errno = re.search(r"\[Errno (-?\d+)\] ([^'\")]+)", text)
        return (
            f"cannot connect: {errno.group(2).strip()} (errno {errno.group(1)})"
            if errno
            else f"cannot connect ({text[-200:]})"
        )
    return f"{type(err).__name__}: {err}"


def check_health(url: str, wait: float, progress: Progress, timeout: tuple[float, float]) -> None:
    """GET <collector>/health until it answers 200 or `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    attempt = 0
    while True:
        attempt += 1
        try:
            response = requests.get(f"{url}/health", timeout=timeout, allow_redirects=False)
            problem = f"HTTP {response.status_code}"
            if response.status_code == 200:
                progress(f"collector {url}/health: OK")
                return
        except requests.RequestException as err:
            problem = _request_error(err)
        left = deadline - time.monotonic()
        if left <= 0:
            raise SmokeFailure(
                EXIT_COLLECTOR, f"collector unreachable: {url}/health: {problem} (after {attempt} attempt(s))"
            )
        progress(f"collector {url}/health: {problem}; retrying for {left:.0f} s more")
        time.sleep(min(2.0, left))


class _RecordingSession(requests.Session):
    """Keeps each response status or connection error of the emitter's requests."""

    def __init__(self):
        super().__init__()
        self.results: list[str] = []

    def request(self, *args, **kwargs):
        try:
            response = super().request(*args, **kwargs)
        except requests.RequestException as err:
            self.results.append(_request_error(err))
            raise
        self.results.append(f"HTTP {response.status_code}")
        return response


def send_events(url: str, run: Run, progress: Progress, timeout: tuple[float, float]) -> dict[str, str]:
    """A page view, a structured event and a self-describing event in one POST; returns event id -> type."""
    # The tracker sets its loggers to INFO; its warnings would repeat what is reported below.
    for name in ("snowplow_tracker.emitters", "snowplow_tracker.snowplow"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    session = _RecordingSession()
    failed: list[int] = []
    emitter = Emitter(
        url,
        method="post",
        batch_size=10,
        request_timeout=timeout,
        custom_retry_codes=NO_RETRY,
        on_failure=lambda sent, unsent: failed.append(len(unsent)),
        session=session,
    )
    tracker = Tracker("snowplow-pulumi-smoke", emitter, app_id=run.app_id)
    context = [SelfDescribingJson(WEB_PAGE, {"id": run.run_id})]
    page = f"{SMOKE_SITE}/{run.run_id}"
    sent = {
        tracker.track(PageView(page_url=page, page_title="snowplow-pulumi smoke test", context=context)): "pv",
        tracker.track(
            StructuredEvent("snowplow-pulumi", "smoke-test", label=run.run_id, value=1, context=context)
        ): "se",
        tracker.track(
            SelfDescribing(
                SelfDescribingJson(LINK_CLICK, {"targetUrl": page, "elementId": run.run_id}), context=context
            )
        ): "ue",
    }
    emitter.flush()
    outcome = ", ".join(session.results) or "no request made"
    if failed or not session.results:
        raise SmokeFailure(EXIT_COLLECTOR, f"collector refused the events: POST {emitter.endpoint}: {outcome}")
    progress(f"sent 3 events (page view, structured, self-describing link_click) in one POST: {outcome}")
    return sent


# --- streams and lake -----------------------------------------------------------------------------------------


def collect_raw(records: list[bytes], run: Run, evidence: Evidence) -> None:
    marker = run.run_id.encode()
    for data in records:
        record = read_raw_record(data)
        for event in record.events:
            if event.get("eid") in evidence.sent:
                evidence.raw[event["eid"]] = event.get("e", "?")
        if record.error and marker in data:  # cannot decode, but the bytes carry this run's id
            evidence.raw_undecoded.append(record.error)


def record_lines(records: list[bytes], evidence: Evidence) -> list[str]:
    """The TSV lines of enriched records; records that cannot be read are counted, not fatal."""
    lines = []
    for data in records:
        try:
            lines.extend(enriched_lines(data))
        except FormatError:
            evidence.malformed_enriched += 1
    return lines


def collect_enriched(lines: list[str], run: Run, evidence: Evidence, into: dict[str, str]) -> None:
    for line in lines:
        try:
            event = parse_enriched(line)
        except FormatError:
            evidence.malformed_enriched += 1
            continue
        if event["app_id"] == run.app_id and event["event_id"] in evidence.sent:
            into[event["event_id"]] = event["event"]


def collect_bad(records: list[bytes], run: Run, evidence: Evidence) -> None:
    for data in records:
        try:
            row = read_bad_row(data)
        except FormatError:
            continue
        hits = {eid for eid in evidence.sent if eid in row.text}
        if hits or run.run_id in row.text:
            evidence.bad_events |= hits
            evidence.bad.setdefault(row.kind, []).extend(row.messages)


class LakeScanner:
    """New objects under `enriched/` in the lake since the run started. The S3 loader writes them under a prefix per
    UTC day, `load_date=<yyyy-MM-dd>/` (see components/apps/consumer_configs.py), named by write time."""

    MAX_OBJECT_BYTES = 64 * 1024 * 1024

    def __init__(self, s3, bucket: str, since: datetime, prefix: str = "enriched/"):
        self.s3, self.bucket, self.prefix, self.since = s3, bucket, prefix, since
        self.start_after = f"{prefix}load_date={since - timedelta(minutes=5):%Y-%m-%d}/"
        self.seen: set[str] = set()

    def poll(self) -> list[str]:
        lines: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, StartAfter=self.start_after
        ):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key in self.seen or item["LastModified"] < self.since or item["Size"] > self.MAX_OBJECT_BYTES:
                    continue
                self.seen.add(key)
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                try:
                    lines.extend(enriched_lines(body))
                except FormatError:
                    continue
        return lines


# --- the run --------------------------------------------------------------------------------------------------


@dataclass
class Settings:
    """The run's waits and switches; their defaults are the command line's (see parse_args)."""

    health_wait: float
    raw_timeout: float
    enriched_timeout: float
    poll_interval: float
    lookback: float
    lake: bool
    require_lake: bool
    http_timeout: tuple[float, float]  # (connect, read)


def check_aws(outputs: StackOutputs, clients: aws.Clients, progress: Progress):
    """Credentials and read access to the three streams, before any event is sent."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    region = clients.region
    progress(f"checking AWS access in {region}" + (f" via {endpoint}" if endpoint else ""))
    try:
        identity = clients("sts").get_caller_identity()
        kinesis = clients("kinesis")
        for logical in ("raw", "enriched", "bad1"):
            kinesis.describe_stream_summary(StreamName=outputs.streams[logical])
    except aws.AWS_ERRORS as err:
        raise SmokeFailure(EXIT_AWS, f"AWS ({region}): {aws.describe_error(err)}") from None
    progress(
        f"AWS account {identity['Account']} in {region}: streams {outputs.streams['raw']}, "
        f"{outputs.streams['enriched']}, {outputs.streams['bad1']} found"
    )
    return kinesis


def follow_events(kinesis, s3, outputs: StackOutputs, run: Run, evidence: Evidence, settings: Settings, progress):
    """Poll raw, enriched, bad-1 (and the lake) together until every event is accounted for or time is up."""
    streams = outputs.streams
    raw = StreamReader(kinesis, streams["raw"], run.started)
    enriched = StreamReader(kinesis, streams["enriched"], run.started)
    bad = StreamReader(kinesis, streams["bad1"], run.started)
    lake = LakeScanner(s3, outputs.lake_bucket, run.started) if s3 is not None else None
    sent_at = time.monotonic()
    next_lake = sent_at
    last_state, last_print = "", 0.0
    while True:
        if evidence.missing(evidence.raw) and not evidence.raw_undecoded:
            collect_raw(raw.poll(), run, evidence)
        collect_enriched(record_lines(enriched.poll(), evidence), run, evidence, evidence.enriched)
        collect_bad(bad.poll(), run, evidence)
        if lake is not None and time.monotonic() >= next_lake:
            try:
                collect_enriched(lake.poll(), run, evidence, evidence.lake)
            except aws.AWS_ERRORS as err:
                if settings.require_lake:
                    raise
                progress(
                    f"lake s3://{outputs.lake_bucket}/enriched/ not readable, not checked further: {aws.describe_error(err)}"
                )
                lake = None
            next_lake = time.monotonic() + max(settings.poll_interval, 10)
        delivered = evidence.lake if settings.require_lake else {**evidence.enriched, **evidence.lake}
        state = (
            f"raw {len(evidence.raw)}/{len(evidence.sent)}"
            + (f" (+{len(evidence.raw_undecoded)} undecodable with the run id)" if evidence.raw_undecoded else "")
            + f", enriched {len(evidence.enriched)}/{len(evidence.sent)}"
            + (f", lake {len(evidence.lake)}/{len(evidence.sent)}" if lake is not None else "")
            + f", bad-1 {len(evidence.bad_events)}"
        )
        if state != last_state or time.monotonic() - last_print >= 10:
            progress(
                f"{state}  [records read: raw {raw.records_read}, enriched {enriched.records_read}, bad-1 {bad.records_read}]"
            )
            last_state, last_print = state, time.monotonic()
        waited = time.monotonic() - sent_at
        if not evidence.missing(set(delivered) | evidence.bad_events):
            break
        if waited >= settings.raw_timeout and not _reached_raw(evidence):
            break
        if waited >= settings.enriched_timeout:
            break
        time.sleep(settings.poll_interval)
    _verdict(outputs, evidence, settings, delivered)


def _reached_raw(evidence: Evidence) -> bool:
    """Some of this run's events are visible past the collector (raw, or already downstream)."""
    return bool(evidence.raw or evidence.raw_undecoded or evidence.enriched or evidence.lake or evidence.bad_events)


def _verdict(outputs: StackOutputs, evidence: Evidence, settings: Settings, delivered: dict[str, str]) -> None:
    streams = outputs.streams
    if evidence.bad:
        raise SmokeFailure(
            EXIT_BAD_ROWS,
            f"bad rows found: {len(evidence.bad_events) or 'some'} event(s) of this run are in {streams['bad1']}",
        )
    downstream = set(evidence.enriched) | set(evidence.lake)
    never = [e for e in evidence.missing(evidence.raw) if e not in downstream]
    if never and not evidence.raw_undecoded:
        head = "nothing in raw: none" if len(never) == len(evidence.sent) else f"only {len(evidence.sent) - len(never)}"
        raise SmokeFailure(
            EXIT_NO_RAW,
            f"{head} of the {len(evidence.sent)} events reached {streams['raw']} within {settings.raw_timeout:.0f} s "
            f"although the collector accepted them (missing: {describe_missing(evidence, never)}); "
            "can the collector write to Kinesis? see its log group",
        )
    missing = evidence.missing(delivered)
    if missing:
        where = "the lake's enriched/ prefix" if settings.require_lake else f"{streams['enriched']} or the lake"
        raise SmokeFailure(
            EXIT_NO_ENRICHED,
            f"enriched missing: {len(missing)}/{len(evidence.sent)} events reached raw but not {where} within "
            f"{settings.enriched_timeout:.0f} s: {describe_missing(evidence, missing)}; is enrich running? see its "
            "log group",
        )


def summary_lines(
    outputs: StackOutputs,
    run: Run,
    evidence: Evidence,
    code: int,
    reason: str | None,
    settings: Settings,
    seconds: float,
) -> list[str]:
    verdict = (
        f"PASSED in {seconds:.1f} s" if code == EXIT_OK else f"FAILED (exit {code}) after {seconds:.1f} s: {reason}"
    )
    lines = [f"smoke test {verdict}"]
    lines.append(f"  run id     {run.run_id} (app_id {run.app_id})")
    lines.append(f"  collector  {outputs.collector_url}: {len(evidence.sent)} events sent")
    if not evidence.sent:
        return lines
    total = len(evidence.sent)
    raw = f"{len(evidence.raw)}/{total} events"
    if evidence.raw_undecoded:
        raw += (
            f"; {len(evidence.raw_undecoded)} undecodable record(s) carrying the run id ({evidence.raw_undecoded[0]})"
        )
    lines.append(f"  raw        {raw}")
    lines.append(f"  enriched   {len(evidence.enriched)}/{total} events")
    if outputs.lake_bucket and (settings.lake or settings.require_lake):
        note = "" if settings.require_lake or evidence.lake else " (not required: the loader writes every few minutes)"
        lines.append(
            f"  lake       {len(evidence.lake)}/{total} events under s3://{outputs.lake_bucket}/enriched/{note}"
        )
    if evidence.malformed_enriched:
        lines.append(f"  warning    {evidence.malformed_enriched} enriched record(s) were not 131-field TSV")
    for kind, messages in evidence.bad.items():
        for message in dict.fromkeys(messages):
            lines.append(f"  bad-1      {kind}: {message}")
    return lines


def run_smoke(outputs: StackOutputs, region: str, settings: Settings, progress: Progress) -> int:
    run_id = str(uuid.uuid4())
    run = Run(run_id, f"smoke-{run_id}", datetime.now(UTC) - timedelta(seconds=settings.lookback))
    evidence = Evidence()
    progress(f"smoke run {run_id} against {outputs.collector_url} ({outputs.source})")
    code, reason = EXIT_OK, None
    try:
        check_health(outputs.collector_url, settings.health_wait, progress, settings.http_timeout)
        clients = aws.Clients(region)
        kinesis = check_aws(outputs, clients, progress)
        s3 = clients("s3") if outputs.lake_bucket and (settings.lake or settings.require_lake) else None
        evidence.sent = send_events(outputs.collector_url, run, progress, settings.http_timeout)
        follow_events(kinesis, s3, outputs, run, evidence, settings, progress)
    except SmokeFailure as failure:
        code, reason = failure.code, str(failure)
    except aws.AWS_ERRORS as err:
        code, reason = EXIT_AWS, f"AWS ({region}): {aws.describe_error(err)}"
    print("\n".join(summary_lines(outputs, run, evidence, code, reason, settings, progress.elapsed())), flush=True)
    return code


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ops.smoke", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="read the outputs with `pulumi stack output --json --show-secrets -s STACK`")
    source.add_argument("--outputs", type=Path, help="a file holding `pulumi stack output --json`")
    parser.add_argument("--region", help="AWS region of the stack (default: from the kms_key_arn output)")
    parser.add_argument("--health-wait", type=float, default=20, help="seconds to wait for /health (default 20)")
    parser.add_argument("--raw-timeout", type=float, default=60, help="seconds to wait for raw (default 60)")
    parser.add_argument(
        "--enriched-timeout", type=float, default=180, help="seconds to wait for enriched (default 180)"
    )
    parser.add_argument("--poll-interval", type=float, default=2, help="seconds between stream polls (default 2)")
    parser.add_argument(
        "--lookback", type=float, default=30, help="read streams from this many seconds before the run (default 30)"
    )
    parser.add_argument(
        "--http-timeout", type=float, default=5, help="connect timeout of each HTTP request (default 5)"
    )
    lake = parser.add_mutually_exclusive_group()
    lake.add_argument("--no-lake", action="store_true", help="do not look under the lake's enriched/ prefix")
    lake.add_argument(
        "--require-lake",
        action="store_true",
        help="pass only when the events are in the lake (the loader flushes every maxDelaySeconds: raise --enriched-timeout)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    progress = Progress()
    try:
        document = from_file(args.outputs) if args.outputs else from_pulumi(args.stack)
        outputs = parse_outputs(document, str(args.outputs or f"stack {args.stack}"))
    except OutputsError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    region = args.region or outputs.region or boto3.session.Session().region_name
    if not region:
        print("error: no AWS region: the outputs have no kms_key_arn; pass --region", file=sys.stderr)
        return EXIT_USAGE
    if args.require_lake and not outputs.lake_bucket:
        print("error: --require-lake needs the lake_bucket output", file=sys.stderr)
        return EXIT_USAGE
    settings = Settings(
        health_wait=args.health_wait,
        raw_timeout=args.raw_timeout,
        enriched_timeout=args.enriched_timeout,
        poll_interval=args.poll_interval,
        lookback=args.lookback,
        lake=not args.no_lake,
        require_lake=args.require_lake,
        http_timeout=(args.http_timeout, 2 * args.http_timeout),
    )
    return run_smoke(outputs, region, settings, progress)


if __name__ == "__main__":
    sys.exit(main())

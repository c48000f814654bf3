"""`python -m ops.smoke` against moto's server and a stand-in collector on 127.0.0.1."""

import base64
import gzip
import json
import os
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from ops import formats, preflight, smoke
from ops.outputs import parse_outputs
from ops.streams import StreamReader
from tests.aws_fakes import (
    LAKE,
    REGION,
    STREAMS,
    SilentServer,
    StandInCollector,
    aws,
    closed_port,
    encode_collector_payload,
    enriched_tsv,
    make_pipeline_resources,
    moto_server,
    stack_outputs,
)
from tests.conftest import ROOT

FAST = ["--health-wait", "1", "--raw-timeout", "1.5", "--enriched-timeout", "2", "--poll-interval", "0.2"]
FAST += ["--lookback", "5", "--http-timeout", "0.5"]


def run_smoke(tmp_path, capsys, collector_url: str, *extra: str, **overrides) -> tuple[int, str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_outputs(collector_url, **overrides)))
    code = smoke.main(["--outputs", str(path), *FAST, *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_events_found_in_raw_and_enriched_pass(aws, tmp_path, capsys):
    make_pipeline_resources()
    with StandInCollector("ok") as collector:
        started = time.monotonic()
        code, out = run_smoke(tmp_path, capsys, collector.url)
        elapsed = time.monotonic() - started
    assert code == smoke.EXIT_OK, out
    assert collector.requests == ["/com.snowplowanalytics.snowplow/tp2"]
    assert "smoke test PASSED" in out
    assert "raw        3/3 events" in out and "enriched   3/3 events" in out
    assert "collector http://127.0.0.1:" in out and "/health: OK" in out
    assert elapsed < 10


def test_unreadable_enriched_records_are_counted_not_fatal(aws, tmp_path, capsys):
    make_pipeline_resources()
    kinesis = boto3.client("kinesis", region_name=REGION)
    for junk in (b"\x1f\x8bnot gzip", b"two\tfields"):
        kinesis.put_record(StreamName=STREAMS["enriched"], Data=junk, PartitionKey="junk")
    with StandInCollector("ok") as collector:
        code, out = run_smoke(tmp_path, capsys, collector.url)
    assert code == smoke.EXIT_OK, out
    assert "warning    2 enriched record(s) were not 131-field TSV" in out


def test_events_in_the_lake_count_when_required(aws, tmp_path, capsys, monkeypatch):
    make_pipeline_resources()
    # the loader has already written this run's events: copy what enrich would have written into the lake
    original = smoke.send_events

    def send_and_load(url, run, progress, timeout):
        sent = original(url, run, progress, timeout)
        lines = [enriched_tsv({"aid": run.app_id, "eid": eid, "e": kind}) for eid, kind in sent.items()]
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=LAKE,
            Key="enriched/load_date=2030-01-01/2030-01-01-000000-x.gz",
            Body=gzip.compress("\n".join(lines).encode()),
        )
        return sent

    monkeypatch.setattr(smoke, "send_events", send_and_load)
    with StandInCollector("no-enriched") as collector:
        code, out = run_smoke(tmp_path, capsys, collector.url, "--require-lake")
    assert code == smoke.EXIT_OK, out
    assert "lake       3/3 events under s3://snowplow-test-lake/enriched/" in out


def test_collector_down_fails_fast_naming_the_collector(aws, tmp_path, capsys):
    make_pipeline_resources()
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    code, out = run_smoke(tmp_path, capsys, url)
    assert code == smoke.EXIT_COLLECTOR
    assert f"collector unreachable: {url}/health: cannot connect" in out
    assert time.monotonic() - started < 5


def test_collector_that_never_answers_times_out(aws, tmp_path, capsys):
    make_pipeline_resources()
    with SilentServer() as silent:
        started = time.monotonic()
        code, out = run_smoke(tmp_path, capsys, silent.url)
    assert code == smoke.EXIT_COLLECTOR
    assert f"collector unreachable: {silent.url}/health: connected but no answer in time" in out, out
    assert time.monotonic() - started < 8


def test_nothing_in_raw(aws, tmp_path, capsys):
    make_pipeline_resources()
    with StandInCollector("no-raw") as collector:
        code, out = run_smoke(tmp_path, capsys, collector.url)
    assert code == smoke.EXIT_NO_RAW, out
    assert f"nothing in raw: none of the 3 events reached {STREAMS['raw']}" in out
    assert "raw        0/3 events" in out


def test_events_that_never_reach_enriched(aws, tmp_path, capsys):
    make_pipeline_resources()
    with StandInCollector("no-enriched") as collector:
        code, out = run_smoke(tmp_path, capsys, collector.url)
    assert code == smoke.EXIT_NO_ENRICHED, out
    assert "enriched missing: 3/3 events reached raw but not" in out
    assert "raw        3/3 events" in out and "enriched   0/3 events" in out


def test_bad_row_in_bad1_is_reported_with_its_message(aws, tmp_path, capsys):
    make_pipeline_resources()
    with StandInCollector("bad-row") as collector:
        code, out = run_smoke(tmp_path, capsys, collector.url)
    assert code == smoke.EXIT_BAD_ROWS, out
    assert f"bad rows found: 1 event(s) of this run are in {STREAMS['bad1']}" in out
    assert "bad-1      schema_violations: iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1: " in out
    assert "$.targetUrl: is missing but it is required" in out
    assert "enriched   2/3 events" in out


def test_missing_streams_are_an_aws_failure_before_any_event_is_sent(aws, tmp_path, capsys):
    with StandInCollector("ok") as collector:
        code, out = run_smoke(tmp_path, capsys, collector.url)
    assert code == smoke.EXIT_AWS
    assert "ResourceNotFoundException" in out
    assert collector.requests == []


def test_outputs_without_collector_url_are_a_usage_error(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"lake_bucket": "x"}))
    assert smoke.main(["--outputs", str(path)]) == smoke.EXIT_USAGE
    assert "missing stack output(s) collector_url, stream_names" in capsys.readouterr().err


def test_stack_without_pulumi_cli_says_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert smoke.main(["--stack", "dev"]) == smoke.EXIT_USAGE
    err = capsys.readouterr().err
    assert "the Pulumi CLI (pulumi) is not installed" in err and "OUTPUTS=outputs.json" in err


def test_stack_reads_outputs_through_the_pulumi_cli(tmp_path, monkeypatch):
    fake = tmp_path / "pulumi"
    fake.write_text('#!/bin/sh\necho "$@" > "${0%/*}/args"\necho \'{"collector_url": "http://x"}\'\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    from ops.outputs import from_pulumi

    assert from_pulumi("prod") == {"collector_url": "http://x"}
    assert (tmp_path / "args").read_text().split() == ["stack", "output", "--json", "--show-secrets", "-s", "prod"]


def test_outputs_exported_without_show_secrets_say_how_to_export_them(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**stack_outputs("http://x"), "collector_url": "[secret]"}))
    assert smoke.main(["--outputs", str(path)]) == smoke.EXIT_USAGE
    assert "collector_url is a secret output" in capsys.readouterr().err


def test_make_smoke_against_unreachable_endpoints_fails_within_a_minute(tmp_path):
    """The command an operator runs, with a collector and an AWS endpoint that nobody answers on."""
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_outputs(f"http://127.0.0.1:{closed_port()}")))
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}", "AWS_ACCESS_KEY_ID": "x"}
    env.update(AWS_SECRET_ACCESS_KEY="x", SMOKE_ARGS="--health-wait 1")
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "smoke", f"OUTPUTS={path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "collector unreachable" in done.stdout
    assert time.monotonic() - started < 60


# --- formats ----------------------------------------------------------------------------------------------------


def test_enriched_format_has_131_fields():
    assert len(formats.ENRICHED_FIELDS) == 131
    assert formats.ENRICHED_FIELDS[0] == "app_id" and formats.ENRICHED_FIELDS[6] == "event_id"
    assert formats.ENRICHED_FIELDS[55] == "se_label" and formats.ENRICHED_FIELDS[130] == "true_tstamp"
    with pytest.raises(formats.FormatError, match="131 tab-separated fields"):
        formats.parse_enriched("a\tb")


def test_thrift_collector_payload_round_trip():
    body = json.dumps({"schema": "iglu:x", "data": [{"e": "pv", "eid": "1"}, {"e": "se", "eid": "2"}]})
    data = encode_collector_payload("/com.snowplowanalytics.snowplow/tp2", None, body, ["Host: a", "X: b"])
    payload = formats.decode_collector_payload(data)
    assert payload["path"] == "/com.snowplowanalytics.snowplow/tp2"
    assert payload["headers"] == ["Host: a", "X: b"] and payload["encoding"] == "UTF-8"
    assert [e["eid"] for e in formats.payload_events(payload)] == ["1", "2"]
    get = formats.decode_collector_payload(encode_collector_payload("/i", "e=pv&eid=9&aid=x", None, []))
    assert formats.payload_events(get) == [{"e": "pv", "eid": "9", "aid": "x"}]


def test_compressed_raw_records_are_unframed():
    one = encode_collector_payload("/i", "e=pv&eid=1", None, [])
    two = encode_collector_payload("/i", "e=se&eid=2", None, [])
    framed = b"\x01\x01" + b"".join(struct.pack(">I", len(p)) + p for p in (one, two))
    import zstandard

    for record in (gzip.compress(framed), zstandard.ZstdCompressor().compress(framed)):
        raw = formats.read_raw_record(record)
        assert raw.error is None
        assert [e["eid"] for e in raw.events] == ["1", "2"]
    bad_version = formats.read_raw_record(gzip.compress(b"\x02\x01" + framed[2:]))
    assert "unknown version header 0201" in bad_version.error


def test_truncated_thrift_is_reported_not_raised():
    record = formats.read_raw_record(encode_collector_payload("/i", "e=pv", None, [])[:-9])
    assert record.events == [] and "truncated Thrift data" in record.error


def test_bad_row_messages_for_other_kinds():
    size = {
        "schema": "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0",
        "data": {
            "failure": {"maximumAllowedSizeBytes": 10, "actualSizeBytes": 20, "expectation": "too big"},
            "payload": base64.b64encode(b"aid=smoke-abc").decode(),
        },
    }
    row = formats.read_bad_row(json.dumps(size).encode())
    assert row.kind == "size_violation" and row.messages == ("too big",)
    assert "aid=smoke-abc" in row.text
    generic = {"schema": "iglu:x.badrows/generic_error/jsonschema/1-0-0", "data": {"failure": {"errors": ["e1"]}}}
    assert formats.read_bad_row(json.dumps(generic).encode()).messages == ("e1",)


def test_smoke_module_runs_as_a_command():
    done = subprocess.run([sys.executable, "-m", "ops.smoke", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    assert "Exit codes: 0 ok" in done.stdout


def test_the_programs_outputs_are_what_the_tools_read(preview):
    run = preview()
    outputs = parse_outputs(run.outputs, "offline plan")
    assert outputs.streams == {"raw": "snowplow-test-raw", "enriched": "snowplow-test-enriched",
                               "bad1": "snowplow-test-bad-1", "bad2": "snowplow-test-bad-2"}  # fmt: skip
    assert outputs.region == "eu-west-1" and outputs.lake_bucket.startswith("snowplow-test-lake-")
    assert outputs.collector_url.startswith("http://")
    names = {k: f"snowplow-test-{suffix}" for k, suffix in preflight.STREAM_SUFFIXES.items()}
    assert names == run.outputs["stream_names"]


def test_stream_reader_keeps_within_kinesis_limits_and_recovers_expired_iterators():
    kinesis = boto3.client("kinesis", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    since = datetime.now(UTC)
    shards = {"Shards": [{"ShardId": "s-0", "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "1"},
                          "SequenceNumberRange": {"StartingSequenceNumber": "1"}}]}  # fmt: skip
    arrived = datetime.now(UTC)
    stub = Stubber(kinesis)
    stub.add_response("list_shards", shards, {"StreamName": "raw"})
    stub.add_response(
        "get_shard_iterator",
        {"ShardIterator": "it-1" * 10},
        {"StreamName": "raw", "ShardId": "s-0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": since},
    )
    record = {"SequenceNumber": "42", "Data": b"one", "PartitionKey": "p", "ApproximateArrivalTimestamp": arrived}
    stub.add_response(
        "get_records", {"Records": [record], "NextShardIterator": "it-2" * 10, "MillisBehindLatest": 5}, None
    )
    stub.add_response("get_records", {"Records": [], "NextShardIterator": "it-3" * 10, "MillisBehindLatest": 0}, None)
    # second poll: the iterator has expired; reading resumes after the last record seen
    stub.add_response("list_shards", shards, {"StreamName": "raw"})
    stub.add_client_error("get_records", "ExpiredIteratorException")
    stub.add_response(
        "get_shard_iterator",
        {"ShardIterator": "it-4" * 10},
        {"StreamName": "raw", "ShardId": "s-0", "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
         "StartingSequenceNumber": "42"},
    )  # fmt: skip
    record2 = {**record, "SequenceNumber": "43", "Data": b"two"}
    stub.add_response("get_records", {"Records": [record2], "MillisBehindLatest": 0}, None)  # shard closed: no next
    # third poll: the closed shard is not read again
    stub.add_response("list_shards", shards, {"StreamName": "raw"})
    clock, sleeps = [100.0], []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    reader = StreamReader(kinesis, "raw", since, sleep=sleep, clock=lambda: clock[0])
    with stub:
        assert reader.poll() == [b"one"]
        assert reader.poll() == [b"two"]
        assert reader.poll() == []
        stub.assert_no_pending_responses()
    # calls to one shard are spaced by at least 0.25 s: at most 4 GetRecords per second, under Kinesis' 5
    assert sleeps and all(s <= 0.25 for s in sleeps) and sum(sleeps) >= 0.25 * 3

"""Local stand-ins for the operator-tool tests: moto's server and a small collector, both on 127.0.0.1 only."""

import base64
import json
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from ops.formats import ENRICHED_FIELDS

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STREAMS = {
    "raw": "snowplow-test-raw",
    "enriched": "snowplow-test-enriched",
    "bad1": "snowplow-test-bad-1",
    "bad2": "snowplow-test-bad-2",
}
LAKE = "snowplow-test-lake"
PAYLOAD_SCHEMA = "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """One moto server for the session on a free loopback port; tests reset it before use."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch, tmp_path) -> str:
    """boto3 pointed at a fresh moto: fake credentials, no profile or config file of the user's."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never look for instance credentials off this host
    return moto_server


def make_pipeline_resources(with_lake: bool = True) -> None:
    """The streams (and lake bucket) a deployed stack would have."""
    kinesis = boto3.client("kinesis", region_name=REGION)
    for name in STREAMS.values():
        kinesis.create_stream(StreamName=name, ShardCount=2 if name.endswith("raw") else 1)
    if with_lake:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=LAKE, CreateBucketConfiguration={"LocationConstraint": REGION}
        )


def stack_outputs(collector_url: str, **overrides) -> dict:
    """What `pulumi stack output --json` prints for a deployed stack."""
    return {
        "collector_url": collector_url,
        "collector_dns_name": urlsplit(collector_url).hostname,
        "lake_bucket": LAKE,
        "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-00000000abcd",
        "kms_key_alias": "alias/snowplow-test",
        "stream_names": dict(STREAMS),
        "vpc_id": "vpc-0123456789abcdef0",
        "private_subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "enabled_enrichments": ["campaign_attribution"],
        **overrides,
    }


# --- Thrift binary protocol writer (the collector's side of ops.formats' reader) --------------------------------


def _string(field_id: int, value: str) -> bytes:
    data = value.encode()
    return struct.pack(">bhi", 11, field_id, len(data)) + data


def encode_collector_payload(
    path: str, querystring: str | None, body: str | None, headers: list[str], ip: str = "127.0.0.1"
) -> bytes:
    out = _string(31337, PAYLOAD_SCHEMA)
    if querystring:
        out += _string(10, querystring)
    out += _string(20, "standin-collector") + _string(30, "UTF-8") + _string(40, "collector.test")
    out += struct.pack(">bhq", 10, 50, int(datetime.now(UTC).timestamp() * 1000))
    out += _string(60, ip)
    out += struct.pack(">bhbi", 15, 90, 11, len(headers))
    for header in headers:
        data = header.encode()
        out += struct.pack(">i", len(data)) + data
    out += _string(110, path)
    if body is not None:
        out += _string(120, "application/json") + _string(130, body)
    return out + b"\x00"


# --- what Enrich would write -----------------------------------------------------------------------------------

EVENT_TYPES = {"pv": "page_view", "se": "struct", "ue": "unstruct", "pp": "page_ping"}


def _b64json(value: str | None) -> str:
    if not value:
        return ""
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()


def enriched_tsv(event: dict[str, str]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    fields = dict.fromkeys(ENRICHED_FIELDS, "")
    fields.update(
        app_id=event.get("aid", ""),
        platform=event.get("p", "srv"),
        etl_tstamp=now,
        collector_tstamp=now,
        event=EVENT_TYPES.get(event.get("e", ""), event.get("e", "")),
        event_id=event.get("eid", ""),
        name_tracker=event.get("tna", ""),
        v_tracker=event.get("tv", ""),
        v_collector="standin-collector",
        v_etl="standin-enrich",
        page_url=event.get("url", ""),
        page_title=event.get("page", ""),
        contexts=_b64json(event.get("cx")) or event.get("co", ""),
        se_category=event.get("se_ca", ""),
        se_action=event.get("se_ac", ""),
        se_label=event.get("se_la", ""),
        se_value=event.get("se_va", ""),
        unstruct_event=_b64json(event.get("ue_px")) or event.get("ue_pr", ""),
        derived_tstamp=now,
    )
    return "\t".join(fields.values())


def schema_violation(event: dict[str, str], message: str) -> bytes:
    """A bad row shaped like badrows/schema_violations 2-0-0, as Enrich writes one to bad-1."""
    row = {
        "schema": "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-0",
        "data": {
            "processor": {"artifact": "standin-enrich", "version": "0.0.0"},
            "failure": {
                "timestamp": datetime.now(UTC).isoformat(),
                "messages": [
                    {
                        "schemaKey": "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
                        "error": {
                            "error": "ValidationError",
                            "dataReports": [{"message": message, "path": "$", "keyword": "required", "targets": []}],
                        },
                    }
                ],
            },
            "payload": {
                "enriched": {"app_id": event.get("aid"), "event_id": event.get("eid")},
                "raw": {
                    "vendor": "com.snowplowanalytics.snowplow",
                    "version": "tp2",
                    "parameters": [{"name": k, "value": v} for k, v in sorted(event.items())],
                    "loaderName": "standin",
                    "encoding": "UTF-8",
                },
            },
        },
    }
    return json.dumps(row).encode()


class StandInCollector:
    """Accepts tracker GET/POST and /health, writes raw records and what Enrich would write, on 127.0.0.1.

    `mode`: "ok" (raw + enriched), "no-raw" (answers 200, writes nothing), "no-enriched" (raw only),
    "bad-row" (the self-describing event becomes a bad row in bad-1, the others are enriched).
    """

    def __init__(self, mode: str = "ok", region: str = REGION):
        self.mode = mode
        self.kinesis = boto3.client("kinesis", region_name=region)
        self.requests: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, text: str = "") -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/health":
                    return self._reply(200, "OK")
                if url.path == "/i":
                    collector.accept(url.path, url.query, None, self.headers)
                    return self._reply(200)
                return self._reply(404)

            def do_POST(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                if url.path != "/com.snowplowanalytics.snowplow/tp2":
                    return self._reply(404)
                collector.accept(url.path, url.query, body, self.headers)
                return self._reply(200)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "StandInCollector":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accept(self, path: str, query: str, body: str | None, headers) -> None:
        self.requests.append(path)
        if self.mode == "no-raw":
            return
        header_lines = [f"{k}: {v}" for k, v in headers.items()]
        record = encode_collector_payload(path, query or None, body, header_lines)
        self.kinesis.put_record(StreamName=STREAMS["raw"], Data=record, PartitionKey="127.0.0.1")
        if self.mode == "no-enriched":
            return
        events = [dict(parse_qsl(query))] if query else json.loads(body or "{}").get("data", [])
        for event in events:
            if self.mode == "bad-row" and event.get("e") == "ue":
                data = schema_violation(event, "$.targetUrl: is missing but it is required")
                self.kinesis.put_record(StreamName=STREAMS["bad1"], Data=data, PartitionKey=event["eid"])
            else:
                line = enriched_tsv(event).encode()
                self.kinesis.put_record(StreamName=STREAMS["enriched"], Data=line, PartitionKey=event["eid"])


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers: a collector that hangs."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> "SilentServer":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

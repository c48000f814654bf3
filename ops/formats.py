"""Readers for what flows through the pipeline's streams: raw collector payloads, enriched TSV, bad rows.

- Raw: each Kinesis record is one collector payload serialised with Thrift's binary protocol, struct
  `CollectorPayload` (iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0). Newer collectors may
  instead write a gzip or zstd frame holding two version bytes (1, 1) and then length-prefixed payloads
  (4-byte big-endian size + Thrift bytes); Enrich reads both, and so do we.
- Enriched: one event per record as 131 tab-separated fields (Enrich's `tabSeparatedEnrichedEvent` order).
- Bad rows: self-describing JSON, `iglu:com.snowplowanalytics.snowplow.badrows/<kind>/jsonschema/<version>`.
"""

import base64
import binascii
import gzip
import io
import json
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_DECOMPRESSED = 64 * 1024 * 1024

# CollectorPayload 1-0-0 field ids -> names
PAYLOAD_FIELDS = {
    31337: "schema",
    10: "querystring",
    20: "collector",
    30: "encoding",
    40: "hostname",
    50: "timestamp",
    60: "ipAddress",
    70: "userAgent",
    80: "refererUri",
    90: "headers",
    100: "networkUserId",
    110: "path",
    120: "contentType",
    130: "body",
}

ENRICHED_FIELDS = """
app_id platform etl_tstamp collector_tstamp dvce_created_tstamp event event_id txn_id name_tracker v_tracker
v_collector v_etl user_id user_ipaddress user_fingerprint domain_userid domain_sessionidx network_userid geo_country
geo_region geo_city geo_zipcode geo_latitude geo_longitude geo_region_name ip_isp ip_organization ip_domain
ip_netspeed page_url page_title page_referrer page_urlscheme page_urlhost page_urlport page_urlpath page_urlquery
page_urlfragment refr_urlscheme refr_urlhost refr_urlport refr_urlpath refr_urlquery refr_urlfragment refr_medium
refr_source refr_term mkt_medium mkt_source mkt_term mkt_content mkt_campaign contexts se_category se_action
se_label se_property se_value unstruct_event tr_orderid tr_affiliation tr_total tr_tax tr_shipping tr_city tr_state
tr_country ti_orderid ti_sku ti_name ti_category ti_price ti_quantity pp_xoffset_min pp_xoffset_max pp_yoffset_min
pp_yoffset_max useragent br_name br_family br_version br_type br_renderengine br_lang br_features_pdf
br_features_flash br_features_java br_features_director br_features_quicktime br_features_realplayer
br_features_windowsmedia br_features_gears br_features_silverlight br_cookies br_colordepth br_viewwidth
br_viewheight os_name os_family os_manufacturer os_timezone dvce_type dvce_ismobile dvce_screenwidth
dvce_screenheight doc_charset doc_width doc_height tr_currency tr_total_base tr_tax_base tr_shipping_base
ti_currency ti_price_base base_currency geo_timezone mkt_clickid mkt_network etl_tags dvce_sent_tstamp
refr_domain_userid refr_dvce_tstamp derived_contexts domain_sessionid derived_tstamp event_vendor event_name
event_format event_version event_fingerprint true_tstamp
""".split()


class FormatError(ValueError):
    """A record is not in the format its stream should carry."""


# --- Thrift binary protocol, just enough to read a CollectorPayload -------------------------------------------

_FIXED = {2: 1, 3: 1, 4: 8, 6: 2, 8: 4, 10: 8}  # bool, byte, double, i16, i32, i64
_STRING, _STRUCT, _MAP, _SET, _LIST, _STOP = 11, 12, 13, 14, 15, 0


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"truncated Thrift data at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self, kind: int) -> Any:
        if kind == _STRING:
            return self.take(self.unpack(">i"))
        if kind == 10:
            return self.unpack(">q")
        if kind in _FIXED:
            return self.take(_FIXED[kind])
        if kind == _STRUCT:
            return self.struct()
        if kind in (_LIST, _SET):
            element, size = self.unpack(">b"), self.unpack(">i")
            return [self.value(element) for _ in range(size)]
        if kind == _MAP:
            key, val, size = self.unpack(">b"), self.unpack(">b"), self.unpack(">i")
            return [(self.value(key), self.value(val)) for _ in range(size)]
        raise FormatError(f"unknown Thrift type {kind} at byte {self.pos}")

    def struct(self) -> dict[int, Any]:
        fields = {}
        while True:
            kind = self.unpack(">b")
            if kind == _STOP:
                return fields
            field_id = self.unpack(">h")
            fields[field_id] = self.value(kind)


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def decode_collector_payload(data: bytes) -> dict[str, Any]:
    """A Thrift-serialised CollectorPayload as a dict keyed by the IDL's field names."""
    reader = _Reader(data)
    fields = reader.struct()
    if reader.pos != len(data):
        raise FormatError(f"{len(data) - reader.pos} bytes after the end of the Thrift struct")
    decoded = {PAYLOAD_FIELDS.get(k, str(k)): _text(v) for k, v in fields.items()}
    if "path" not in decoded or "timestamp" not in decoded:
        raise FormatError("not a CollectorPayload: no path or timestamp field")
    return decoded


def _decompress(data: bytes) -> bytes:
    if data.startswith(GZIP_MAGIC):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                out = stream.read(MAX_DECOMPRESSED + 1)
        except (OSError, EOFError) as err:
            raise FormatError(f"corrupt gzip record: {err}") from None
    else:
        try:
            import zstandard
        except ImportError:
            raise FormatError("zstd-compressed record and the zstandard package is not installed") from None
        try:
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as stream:
                out = stream.read(MAX_DECOMPRESSED + 1)
        except zstandard.ZstdError as err:
            raise FormatError(f"corrupt zstd record: {err}") from None
    if len(out) > MAX_DECOMPRESSED:
        raise FormatError(f"record decompresses to more than {MAX_DECOMPRESSED} bytes")
    return out


def split_raw_record(data: bytes) -> list[bytes]:
    """The collector payloads in one raw-stream record (one, or several when the record is compressed)."""
    if not data.startswith((GZIP_MAGIC, ZSTD_MAGIC)):
        return [data]
    plain = _decompress(data)
    if plain[:2] != b"\x01\x01":
        raise FormatError(f"compressed record with unknown version header {plain[:2].hex()}")
    reader, payloads = _Reader(plain[2:]), []
    while reader.pos < len(reader.data):
        payloads.append(reader.take(reader.unpack(">I")))
    return payloads


def payload_events(payload: dict[str, Any]) -> list[dict[str, str]]:
    """Tracker events in a collector payload: the query string of a GET, or the `data` array of a POST body."""
    events = []
    if payload.get("querystring"):
        params = dict(parse_qsl(payload["querystring"], keep_blank_values=True))
        if "e" in params:
            events.append(params)
    body = payload.get("body")
    if body:
        try:
            document = json.loads(body)
        except ValueError:
            return events
        data = document.get("data") if isinstance(document, dict) else None
        if isinstance(data, list):
            events.extend({k: str(v) for k, v in e.items()} for e in data if isinstance(e, dict))
    return events


@dataclass
class RawRecord:
    """What one raw-stream record says: its events, or why it could not be decoded."""

    events: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    error: str | None = None


def read_raw_record(data: bytes) -> RawRecord:
    record = RawRecord()
    try:
        for chunk in split_raw_record(data):
            payload = decode_collector_payload(chunk)
            record.paths.append(payload.get("path", ""))
            record.events.extend(payload_events(payload))
    except FormatError as err:
        record.error = str(err)
    return record


# --- Enriched TSV ---------------------------------------------------------------------------------------------


def enriched_lines(data: bytes) -> list[str]:
    """The TSV lines of one enriched-stream record or lake file (compressed or not)."""
    if data.startswith((GZIP_MAGIC, ZSTD_MAGIC)):
        data = _decompress(data)
    return [line for line in data.decode("utf-8", errors="replace").splitlines() if line]


def parse_enriched(line: str) -> dict[str, str]:
    values = line.split("\t")
    if len(values) != len(ENRICHED_FIELDS):
        raise FormatError(f"an enriched event has {len(ENRICHED_FIELDS)} tab-separated fields (got {len(values)})")
    return dict(zip(ENRICHED_FIELDS, values, strict=True))


# --- Bad rows -------------------------------------------------------------------------------------------------

_MESSAGE_KEYS = {"message", "error", "errors", "expectation"}
_LABEL_KEYS = ("schemaKey", "field", "enrichment")


@dataclass(frozen=True)
class BadRow:
    kind: str  # e.g. schema_violations
    messages: tuple[str, ...]
    text: str  # the whole row, for matching a run id


def _strings(node: Any, key: str | None = None) -> list[str]:
    if isinstance(node, str):
        return [node] if key in _MESSAGE_KEYS else []
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(v, k)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, key)]
    return []


def _label(item: dict[str, Any]) -> str | None:
    for key in _LABEL_KEYS:
        value = item.get(key)
        if isinstance(value, dict):
            value = value.get("identifier") or value.get("schemaKey")
        if isinstance(value, str) and value:
            return value
    return None


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_bad_row(data: bytes) -> BadRow:
    """A bad row's kind and its failure messages, one per failure item."""
    try:
        row = json.loads(data)
    except ValueError as err:
        raise FormatError(f"a bad row is JSON ({err})") from None
    if not isinstance(row, dict) or not isinstance(row.get("data"), dict):
        raise FormatError("a bad row is a self-describing JSON with schema and data")
    schema = str(row.get("schema", ""))
    kind = schema.split("/")[1] if schema.count("/") >= 3 else schema or "unknown"
    failure = row["data"].get("failure") or {}
    items = failure.get("messages") if isinstance(failure, dict) else None
    messages = []
    for item in items if isinstance(items, list) else [failure]:
        texts = list(dict.fromkeys(_strings(item)))
        label = _label(item) if isinstance(item, dict) else None
        if texts:
            messages.append(_shorten(f"{label}: {'; '.join(texts)}" if label else "; ".join(texts)))
    text = data.decode("utf-8", errors="replace")
    payload = row["data"].get("payload")
    if isinstance(payload, str):  # size violations and unparseable payloads carry the raw bytes as base64
        try:
            text += "\n" + base64.b64decode(payload, validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            pass
    return BadRow(kind, tuple(messages) or ("(no failure message in the bad row)",), text)

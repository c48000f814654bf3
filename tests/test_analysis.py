"""Athena over the lake: the Glue tables read what the S3 loaders write, the workgroup enforces encrypted results,
the named queries ask the first questions cheaply."""

import json
import re
from datetime import date

import pytest
from pyhocon import ConfigFactory

from components.analysis.enriched_format import ENRICHED_FIELDS
from components.analysis.lake_tables import named_queries
from offline.engine import StackFile, run_program
from tests.conftest import ROOT, of_type

REFERENCE = ROOT.parent / "shared" / "reference" / "loaders-formats-prices.md"
TABLE = "aws:glue/catalogTable:CatalogTable"
WORKGROUP = "aws:athena/workgroup:Workgroup"
QUERY = "aws:athena/namedQuery:NamedQuery"
# How each kind of field in the enriched format is read by Athena (written out here as the specification).
EXPECTED_TYPES = {
    "str": "string",
    "uuid": "string",
    "json": "string",
    "ts": "timestamp",
    "int": "int",
    "dbl": "double",
    "bool": "tinyint",
}


@pytest.fixture(scope="module")
def dev():
    return run_program(StackFile.read(ROOT / "Pulumi.dev.yaml"))


@pytest.fixture(scope="module")
def prod():
    return run_program(StackFile.read(ROOT / "Pulumi.prod.yaml"))


def table(run, name: str) -> dict:
    (found,) = [t for t in of_type(run, TABLE) if t["inputs"]["name"] == name]
    return found["inputs"]


def reference_fields() -> list[tuple[str, str]]:
    """(name, kind) of the 131 numbered fields in the reference notes' enriched TSV list."""
    lines = re.findall(r"^(\d+) ([a-z_]+):([a-z]+)!?$", REFERENCE.read_text(), re.M)
    assert [int(n) for n, _, _ in lines] == list(range(1, len(lines) + 1))
    return [(name, kind) for _, name, kind in lines]


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference is not available")
def test_glue_columns_are_the_enriched_format_fields_in_order_and_type(dev):
    fields = reference_fields()
    assert len(fields) == 131
    columns = [(c["name"], c["type"]) for c in table(dev, "events")["storageDescriptor"]["columns"]]
    assert columns == [(name, EXPECTED_TYPES[kind]) for name, kind in fields]
    assert list(ENRICHED_FIELDS) == fields


def test_events_table_reads_gzip_tsv_with_empty_fields_as_null(dev):
    events = table(dev, "events")
    storage = events["storageDescriptor"]
    assert storage["inputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    serde = storage["serDeInfo"]
    assert serde["serializationLibrary"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    assert serde["parameters"] == {"field.delim": "\t", "serialization.format": "\t", "serialization.null.format": ""}
    assert events["tableType"] == "EXTERNAL_TABLE"
    assert events["partitionKeys"] == [{"name": "load_date", "type": "string"}]


def _java_date(pattern: str, day: date) -> str:
    """A day formatted with the Java date pattern partition projection uses."""
    for java, python in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d")):
        pattern = pattern.replace(java, python)
    return day.strftime(pattern)


def test_partition_projection_names_the_prefixes_the_enriched_loader_writes(dev):
    """Where the loader puts a file written on a day is where the projection looks for that day's partition."""
    loader_hocon = [
        r["inputs"]["content"]
        for r in of_type(dev, "aws:s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"]["metadata"] == {"snowplow-app": "s3-loader-enriched", "snowplow-file": "s3-loader.hocon"}
    ]
    loader = ConfigFactory.parse_string(loader_hocon[0])
    day = date(2026, 11, 29)
    fmt = loader["output.good.partitionFormat"]
    written = loader["output.good.path"] + fmt.format(yyyy=f"{day:%Y}", MM=f"{day:%m}", dd=f"{day:%d}") + "/"

    params = table(dev, "events")["parameters"]
    assert params["projection.enabled"] == "true" and params["projection.load_date.type"] == "date"
    value = _java_date(params["projection.load_date.format"], day)
    projected = params["storage.location.template"].replace("${load_date}", value)
    assert projected == written == f"s3://{dev.outputs['lake_bucket']}/enriched/load_date=2026-11-29/"
    assert table(dev, "events")["storageDescriptor"]["location"] == f"s3://{dev.outputs['lake_bucket']}/enriched/"
    assert params["projection.load_date.range"].endswith(",NOW")


def test_bad_rows_table_reads_the_bad_loader_prefix_as_one_json_column(dev):
    bad = table(dev, "bad_rows")
    assert bad["storageDescriptor"]["location"] == f"s3://{dev.outputs['lake_bucket']}/bad/"
    assert bad["storageDescriptor"]["columns"] == [{"name": "line", "type": "string"}]
    assert bad["storageDescriptor"]["serDeInfo"]["parameters"]["field.delim"] == "\u0001"
    assert not bad.get("partitionKeys")


def test_workgroup_enforces_kms_encrypted_results_in_its_own_protected_bucket(prod):
    (workgroup,) = of_type(prod, WORKGROUP)
    config = workgroup["inputs"]["configuration"]
    assert config["enforceWorkgroupConfiguration"] is True
    assert config["bytesScannedCutoffPerQuery"] == 100 * 1024**3
    results = config["resultConfiguration"]
    assert results["encryptionConfiguration"] == {
        "encryptionOption": "SSE_KMS",
        "kmsKeyArn": prod.outputs["kms_key_arn"],
    }
    assert results["outputLocation"] == "s3://snowplow-prod-athena-123456789012/results/"
    (bucket,) = [b for b in of_type(prod, "aws:s3/bucket:Bucket") if b["name"] == "analysis-results"]
    assert bucket["protect"] is True and bucket["inputs"]["bucket"] == "snowplow-prod-athena-123456789012"
    (sse,) = [
        s
        for s in of_type(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        if s["name"] == "analysis-results-sse"
    ]
    default = sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": prod.outputs["kms_key_arn"]}
    (lifecycle,) = [
        r
        for r in of_type(prod, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if r["name"] == "analysis-results-lifecycle"
    ]
    assert lifecycle["inputs"]["rules"][0]["expiration"]["days"] == 30


def test_named_queries_ask_the_first_questions_of_this_stack_s_tables(dev):
    queries = {q["inputs"]["name"]: q["inputs"] for q in of_type(dev, QUERY)}
    assert set(queries) == {"events-per-day-by-type", "top-pages", "sessions-per-day", "bad-rows-per-schema"}
    (workgroup,) = of_type(dev, WORKGROUP)
    for name, query in queries.items():
        assert query["database"] == "snowplow_dev_lake" and query["workgroup"] == workgroup["inputs"]["name"], name
        table_name = "bad_rows" if name == "bad-rows-per-schema" else "events"
        assert f'"snowplow_dev_lake"."{table_name}"' in query["query"], name
        if table_name == "events":  # every query over events prunes partitions: a week, not the whole lake
            assert "load_date >= CAST(current_date - INTERVAL '7' DAY AS varchar)" in query["query"], name
    assert dev.outputs["athena"] == {"workgroup": "snowplow-dev-analysis", "database": "snowplow_dev_lake"}


def test_queries_read_only_columns_the_tables_have():
    columns = {name for name, _ in ENRICHED_FIELDS} | {"load_date"}
    for query in named_queries("db"):
        if "bad_rows" in query.sql:
            continue
        body = re.sub(r"'[^']*'|\"[^\"]*\"", "", query.sql)  # drop literals and quoted names
        words = set(re.findall(r"\b([a-z_]+)\b", body))
        unknown = {w for w in words if "_" in w and w not in columns} - {
            "current_date",
            "first_event",
            "page_views",
            "events_per_session",
            "json_extract_scalar",
        }
        assert not unknown, (query.name, unknown)


def test_analysis_can_be_switched_off(preview):
    run = preview({"snowplow:analysis": {"enabled": False}})
    assert not [r for r in run.resources if r["type"].startswith(("aws:glue", "aws:athena"))]
    assert "athena" not in run.outputs
    assert not [b for b in of_type(run, "aws:s3/bucket:Bucket") if b["name"] == "analysis-results"]


def test_workgroup_settings_come_from_config(preview):
    run = preview({"snowplow:analysis": {"bytesScannedCutoffGb": 5, "resultsExpirationDays": 3}})
    (workgroup,) = of_type(run, WORKGROUP)
    assert workgroup["inputs"]["configuration"]["bytesScannedCutoffPerQuery"] == 5 * 1024**3
    lifecycle = [
        r
        for r in of_type(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if r["name"] == "analysis-results-lifecycle"
    ]
    assert json.loads(json.dumps(lifecycle[0]["inputs"]["rules"][0]["expiration"])) == {"days": 3}

"""Rendered app configs compared whole with what each app is given, and the small pure helpers beside them.

A key misspelt, a value flipped or a section dropped in any of these files is something the app notices at start
(or silently ignores): every document here is compared whole, parsed back as the app's HOCON parser reads it, and
validated against its Iglu schema where Iglu Central has one.
"""

import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from pyhocon import ConfigFactory

from components.analysis.enriched_format import athena_columns
from components.apps.consumer_configs import KinesisInput, render_enrich_config, render_s3_loader_config
from components.apps.enrichment_files import asset_locations, render_enrichment, render_enrichments, secret_placeholder
from components.apps.hocon import EnvSubstitution, hocon_text
from components.apps.iglu_resolver import OwnServer, render_resolver, repository_entry
from components.apps.iglu_server_config import render_iglu_server_config
from components.destinations.databricks_loader_config import DatabricksVolume, render_databricks_loader_config
from components.destinations.elasticsearch_loader_config import (
    SetupRequest,
    json_file,
    render_bad_rows_writer_role,
    render_index_template,
    render_reader_role,
    render_role_mapping,
    render_setup_script,
)
from components.destinations.postgres_loader_config import (
    IgluServerRepository,
    render_postgres_loader_config,
    render_postgres_loader_resolver,
)
from components.destinations.redshift_loader_config import RedshiftConnection, render_loader_config
from components.destinations.redshift_transformer_config import render_transformer_config
from components.destinations.snowflake_loader_config import SnowflakeTarget, render_snowflake_loader_config
from components.modeling.project_archive import build_archive, project_files
from components.observability.signals import is_percentile
from components.platform.database import PostgresConnection
from stack_config.enrichments import EnrichmentsConfig
from stack_config.iglu import IgluConfig

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow-t/{}-AbCdEf"
PASSWORD_ARN = ARN.format("db-password")
KEY_ARN = ARN.format("key")


def placeholder(arn: str) -> str:
    return "{{resolve:secretsmanager:" + arn + "}}"


def as_the_app_reads_it(document: dict, **environment: str) -> dict:
    """The rendered HOCON text parsed as the apps' HOCON parser does, with the container's environment."""
    saved = {k: os.environ.get(k) for k in environment}
    os.environ.update(environment)
    try:
        return ConfigFactory.parse_string(hocon_text(document)).as_plain_ordered_dict()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _schemas_dir() -> Path | None:
    """../shared/iglu-central/schemas beside this checkout (or beside the checkout mutmut copies the tests from)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "iglu-central" / "schemas"
        if candidate.is_dir():
            return candidate
    return None


def assert_valid_against_iglu(document: dict) -> None:
    schemas = _schemas_dir()
    if schemas is None:
        pytest.skip("Iglu Central schemas not found (../shared/iglu-central)")
    vendor, name, schema_format, version = re.fullmatch(
        r"iglu:([^/]+)/([^/]+)/([^/]+)/([^/]+)", document["schema"]
    ).groups()
    schema = json.loads((schemas / vendor / name / schema_format / version).read_text())
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in Draft4Validator(schema).iter_errors(document["data"])]
    assert not problems, problems


# --- Enrich and the S3 loaders (consumer_configs.py) ---------------------------------------------------------

SOURCE = KinesisInput("t-raw", "t-enrich", "TRIM_HORIZON")


@pytest.mark.parametrize("telemetry", [True, False])
def test_enrich_config_is_exactly_what_enrich_6_reads(telemetry):
    expected = {
        "license": {"accept": True},
        "input": {"streamName": "t-raw", "appName": "t-enrich", "initialPosition": {"type": "TRIM_HORIZON"}},
        "output": {"good": {"streamName": "t-enriched"}, "bad": {"streamName": "t-bad-1"}},
        "monitoring": {"healthProbe": {"port": 8000}},
        "telemetry": {"disable": not telemetry},
    }
    rendered = render_enrich_config(SOURCE, "t-enriched", "t-bad-1", telemetry)
    assert rendered == expected
    assert as_the_app_reads_it(rendered) == expected


def test_enriched_events_land_in_one_prefix_per_load_day():
    source = KinesisInput("t-enriched", "t-s3-loader-enriched", "LATEST")
    rendered = render_s3_loader_config(source, "ENRICHED_EVENTS", "s3://lake/enriched/", "t-bad-2", 67108864, 300)
    expected = {
        "license": {"accept": True},
        "input": {"streamName": "t-enriched", "appName": "t-s3-loader-enriched", "initialPosition": {"type": "LATEST"}},
        "output": {
            "good": {"path": "s3://lake/enriched/", "partitionFormat": "load_date={yyyy}-{MM}-{dd}"},
            "bad": {"streamName": "t-bad-2"},
        },
        "purpose": "ENRICHED_EVENTS",
        "batching": {"maxBytes": 67108864, "maxDelay": "300 seconds"},
        "monitoring": {"healthProbe": {"port": 8000}},
    }
    assert rendered == expected
    assert as_the_app_reads_it(rendered) == expected


def test_failed_events_land_in_one_prefix_per_schema():
    rendered = render_s3_loader_config(SOURCE, "SELF_DESCRIBING", "s3://lake/bad/", "t-bad-2", 1024, 60)
    assert rendered["output"]["good"] == {"path": "s3://lake/bad/", "partitionFormat": "{vendor}.{schema}"}
    assert rendered["purpose"] == "SELF_DESCRIBING"
    assert rendered["batching"] == {"maxBytes": 1024, "maxDelay": "60 seconds"}


# --- HOCON rendering (hocon.py) ------------------------------------------------------------------------------


def test_hocon_text_is_indented_json_with_unquoted_environment_substitutions():
    document = {
        "a": {"channel": EnvSubstitution("SNOWPLOW_INSTANCE_ID")},
        "list": [EnvSubstitution("X_1"), "y"],
        "n": 1,
    }
    assert hocon_text(document) == (
        '{\n  "a": {\n    "channel": ${SNOWPLOW_INSTANCE_ID}\n  },\n  "list": [\n    ${X_1},\n    "y"\n  ],\n  "n": 1\n}\n'
    )
    assert as_the_app_reads_it(document, SNOWPLOW_INSTANCE_ID="i-0abc", X_1="one") == {
        "a": {"channel": "i-0abc"},
        "list": ["one", "y"],
        "n": 1,
    }


def test_hocon_text_keeps_the_key_order_and_quotes_text_that_looks_like_a_substitution():
    document = {"z": "${NOT_SUBSTITUTED}", "a": "$HOME"}
    text = hocon_text(document)
    assert text.index('"z"') < text.index('"a"')
    assert json.loads(text) == document


@pytest.mark.parametrize("name", ["lower", "1ST", "A-B", "A B", "", "SNOWPLOW_ID\n"])
def test_an_environment_substitution_needs_an_environment_variable_name(name):
    with pytest.raises(ValueError, match=re.escape(f"not an environment variable name: {name!r}")):
        EnvSubstitution(name)


@pytest.mark.parametrize("name", ["A", "_X", "SNOWPLOW_INSTANCE_ID", "X9"])
def test_environment_variable_names_are_accepted(name):
    assert EnvSubstitution(name).name == name


# --- Iglu resolver and Iglu Server (iglu_resolver.py, iglu_server_config.py) ---------------------------------


def test_resolver_with_the_own_server_and_a_private_registry_is_exactly_this():
    config = IgluConfig.model_validate(
        {
            "registries": [
                {
                    "name": "Acme",
                    "uri": "https://iglu.acme.com/api",
                    "priority": 3,
                    "vendorPrefixes": ["com.acme", "com.acme.web"],
                    "apiKeySecretArn": KEY_ARN,
                },
                {"name": "Static", "uri": "https://schemas.acme.com"},
            ],
            "cacheSize": 1000,
            "cacheTtl": 60,
        }
    )
    own = OwnServer("https://iglu.internal.example/api", ARN.format("iglu-server/read-key"))
    document = render_resolver(config, own)
    assert document == {
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {
            "cacheSize": 1000,
            "cacheTtl": 60,
            "repositories": [
                {
                    "name": "Iglu Central",
                    "priority": 10,
                    "vendorPrefixes": ["com.snowplowanalytics"],
                    "connection": {"http": {"uri": "https://iglucentral.com"}},
                },
                {
                    "name": "Iglu Server (this stack)",
                    "priority": 0,
                    "vendorPrefixes": [],
                    "connection": {
                        "http": {
                            "uri": "https://iglu.internal.example/api",
                            "apikey": placeholder(ARN.format("iglu-server/read-key")),
                        }
                    },
                },
                {
                    "name": "Acme",
                    "priority": 3,
                    "vendorPrefixes": ["com.acme", "com.acme.web"],
                    "connection": {"http": {"uri": "https://iglu.acme.com/api", "apikey": placeholder(KEY_ARN)}},
                },
                {
                    "name": "Static",
                    "priority": 0,
                    "vendorPrefixes": [],
                    "connection": {"http": {"uri": "https://schemas.acme.com"}},
                },
            ],
        },
    }
    assert_valid_against_iglu(document)


def test_a_repository_entry_without_a_key_has_no_apikey_and_defaults_to_first_for_every_vendor():
    assert repository_entry("R", "https://r.example/api", None) == {
        "name": "R",
        "priority": 0,
        "vendorPrefixes": [],
        "connection": {"http": {"uri": "https://r.example/api"}},
    }
    assert repository_entry("R", "https://r.example/api", "")["connection"] == {
        "http": {"uri": "https://r.example/api"}
    }


def test_iglu_server_config_is_exactly_what_the_server_reads():
    database = PostgresConnection("iglu.cluster.example", 5433, "igludb", "iglu_user", PASSWORD_ARN)
    for patches in (True, False):
        rendered = render_iglu_server_config(database, KEY_ARN, patches_allowed=patches)
        expected = {
            "license": {"accept": True},
            "repoServer": {"interface": "0.0.0.0", "port": 8080, "idleTimeout": "65 seconds"},
            "database": {
                "type": "postgres",
                "host": "iglu.cluster.example",
                "port": 5433,
                "dbname": "igludb",
                "username": "iglu_user",
                "password": placeholder(PASSWORD_ARN),
                "enableStartupChecks": True,
            },
            "superApiKey": placeholder(KEY_ARN),
            "debug": False,
            "patchesAllowed": patches,
            "webhooks": {"schemaPublished": []},
        }
        assert rendered == expected
        assert as_the_app_reads_it(rendered) == expected


# --- Postgres loader (postgres_loader_config.py) -------------------------------------------------------------


def test_postgres_loader_config_is_exactly_what_the_loader_reads():
    database = PostgresConnection("events.cluster.example", 5432, "snowplow", "loader", PASSWORD_ARN)
    rendered = render_postgres_loader_config(
        app_name="t-postgres-loader",
        stream="t-enriched",
        region="eu-central-1",
        initial_position="LATEST",
        max_records=2000,
        failures_stream="t-bad-2",
        database=database,
        max_connections=7,
    )
    expected = {
        "input": {
            "type": "Kinesis",
            "appName": "t-postgres-loader",
            "streamName": "t-enriched",
            "region": "eu-central-1",
            "initialPosition": "LATEST",
            "retrievalMode": {"type": "Polling", "maxRecords": 2000},
        },
        "output": {
            "good": {
                "type": "Postgres",
                "host": "events.cluster.example",
                "port": 5432,
                "database": "snowplow",
                "username": "loader",
                "password": placeholder(PASSWORD_ARN),
                "schema": "atomic",
                "sslMode": "REQUIRE",
                "maxConnections": 7,
            },
            "bad": {"type": "Kinesis", "streamName": "t-bad-2", "region": "eu-central-1"},
        },
        "purpose": "ENRICHED_EVENTS",
        "monitoring": {"metrics": {"cloudWatch": False}},
    }
    assert rendered == expected
    assert as_the_app_reads_it(rendered) == expected


def test_postgres_loader_resolver_lists_only_iglu_servers_with_a_ttl_of_at_least_a_second():
    servers = [
        IgluServerRepository("Iglu Server", "https://iglu.internal/api", KEY_ARN),
        IgluServerRepository("Acme", "https://iglu.acme.com/api", None, 2, ("com.acme",)),
    ]
    document = render_postgres_loader_resolver(servers, cache_size=500, cache_ttl=0)
    assert document == {
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-2",
        "data": {
            "cacheSize": 500,
            "cacheTtl": 1,
            "repositories": [
                {
                    "name": "Iglu Server",
                    "priority": 0,
                    "vendorPrefixes": [],
                    "connection": {"http": {"uri": "https://iglu.internal/api", "apikey": placeholder(KEY_ARN)}},
                },
                {
                    "name": "Acme",
                    "priority": 2,
                    "vendorPrefixes": ["com.acme"],
                    "connection": {"http": {"uri": "https://iglu.acme.com/api"}},
                },
            ],
        },
    }
    assert_valid_against_iglu(document)
    assert render_postgres_loader_resolver(servers, 500, 600)["data"]["cacheTtl"] == 600
    assert render_postgres_loader_resolver(servers, 500, 2)["data"]["cacheTtl"] == 2


def test_postgres_loader_resolver_without_a_server_is_refused():
    with pytest.raises(ValueError, match="^the Postgres loader needs at least one Iglu Server$"):
        render_postgres_loader_resolver([], 500, 600)


# --- Redshift transformer and loader -------------------------------------------------------------------------

TRANSFORMER = dict(
    app_name="t-transformer",
    stream="t-enriched",
    region="eu-west-1",
    initial_position="TRIM_HORIZON",
    output_path="s3://lake/transformed/",
    bad_stream="t-bad-2",
    queue_name="t-loading.fifo",
    window_minutes=10,
    telemetry=True,
)


def test_shredding_transformer_config_is_exactly_what_the_transformer_reads():
    rendered = render_transformer_config(**TRANSFORMER, transformation_type="shred")
    expected = {
        "license": {"accept": True},
        "input": {
            "type": "kinesis",
            "appName": "t-transformer",
            "streamName": "t-enriched",
            "region": "eu-west-1",
            "position": "TRIM_HORIZON",
            "retrievalMode": {"type": "Polling", "maxRecords": 10000},
        },
        "output": {
            "path": "s3://lake/transformed/",
            "compression": "GZIP",
            "region": "eu-west-1",
            "bad": {"type": "kinesis", "streamName": "t-bad-2", "region": "eu-west-1"},
        },
        "queue": {"type": "sqs", "queueName": "t-loading.fifo", "region": "eu-west-1"},
        "windowing": "10 minutes",
        "formats": {"transformationType": "shred", "default": "TSV", "json": [], "tsv": [], "skip": []},
        "monitoring": {"metrics": {"cloudwatch": False}},
        "telemetry": {"disable": False},
    }
    assert rendered == expected
    assert as_the_app_reads_it(rendered) == expected


def test_wide_row_transformer_writes_json_files():
    rendered = render_transformer_config(**{**TRANSFORMER, "telemetry": False}, transformation_type="widerow")
    assert rendered["formats"] == {"transformationType": "widerow", "fileFormat": "json"}
    assert rendered["telemetry"] == {"disable": True}


@pytest.mark.parametrize("path", ["s3://lake/transformed", "gs://lake/transformed/", "lake/transformed/"])
def test_transformer_output_must_be_an_s3_folder(path):
    with pytest.raises(ValueError, match=re.escape(f"output_path must be an s3:// folder ending in / (got {path!r})")):
        render_transformer_config(**{**TRANSFORMER, "output_path": path}, transformation_type="shred")


@pytest.mark.parametrize("telemetry", [True, False])
def test_redshift_loader_config_is_exactly_what_the_loader_reads(telemetry):
    connection = RedshiftConnection(
        "wg.123.eu-west-1.redshift-serverless.amazonaws.com",
        5439,
        "snowplow",
        "atomic",
        "loader",
        PASSWORD_ARN,
        "arn:aws:iam::123456789012:role/t-redshift-copy",
    )
    rendered = render_loader_config(
        region="eu-west-1", queue_name="t-loading.fifo", connection=connection, max_error=3, telemetry=telemetry
    )
    expected = {
        "license": {"accept": True},
        "region": "eu-west-1",
        "messageQueue": {"type": "sqs", "queueName": "t-loading.fifo"},
        "storage": {
            "type": "redshift",
            "host": "wg.123.eu-west-1.redshift-serverless.amazonaws.com",
            "port": 5439,
            "database": "snowplow",
            "schema": "atomic",
            "username": "loader",
            "jdbcAuth": {"type": "password", "password": placeholder(PASSWORD_ARN)},
            "roleArn": "arn:aws:iam::123456789012:role/t-redshift-copy",
            "loadAuthMethod": {"type": "NoCreds"},
            "maxError": 3,
            "jdbc": {"ssl": True, "sslMode": "verify-full"},
        },
        "telemetry": {"disable": not telemetry},
    }
    assert rendered == expected
    assert as_the_app_reads_it(rendered) == expected


# --- Snowflake and Databricks streaming loaders --------------------------------------------------------------


@pytest.mark.parametrize("passphrase", [None, ARN.format("passphrase")])
def test_snowflake_loader_config_is_exactly_what_the_loader_reads(passphrase):
    target = SnowflakeTarget(
        "https://acme.snowflakecomputing.com", "LOADER", "LOADER_ROLE", "DB", "ATOMIC", "EVENTS", KEY_ARN, passphrase
    )
    rendered = render_snowflake_loader_config(
        app_name="t-snowflake-loader",
        stream="t-enriched",
        initial_position="LATEST",
        max_records=750,
        failures_stream="t-bad-2",
        target=target,
        telemetry=True,
    )
    good = {
        "url": "https://acme.snowflakecomputing.com",
        "user": "LOADER",
        "privateKey": placeholder(KEY_ARN),
        "role": "LOADER_ROLE",
        "database": "DB",
        "schema": "ATOMIC",
        "table": "EVENTS",
        "channel": "i-0123456789abcdef0",
    }
    if passphrase:
        good["privateKeyPassphrase"] = placeholder(passphrase)
    assert as_the_app_reads_it(rendered, SNOWPLOW_INSTANCE_ID="i-0123456789abcdef0") == {
        "license": {"accept": True},
        "input": {
            "streamName": "t-enriched",
            "appName": "t-snowflake-loader",
            "initialPosition": {"type": "LATEST"},
            "retrievalMode": {"type": "Polling", "maxRecords": 750},
        },
        "output": {"good": good, "bad": {"streamName": "t-bad-2"}},
        "monitoring": {"healthProbe": {"port": 8000}},
        "telemetry": {"disable": False},
    }


@pytest.mark.parametrize("telemetry", [True, False])
def test_databricks_loader_config_is_exactly_what_the_loader_reads(telemetry):
    rendered = render_databricks_loader_config(
        app_name="t-databricks-loader",
        stream="t-enriched",
        initial_position="TRIM_HORIZON",
        max_records=300,
        failures_stream="t-bad-2",
        target=DatabricksVolume("https://acme.cloud.databricks.com", "main", "snowplow", "events", KEY_ARN),
        telemetry=telemetry,
    )
    expected = {
        "license": {"accept": True},
        "input": {
            "streamName": "t-enriched",
            "appName": "t-databricks-loader",
            "initialPosition": {"type": "TRIM_HORIZON"},
            "retrievalMode": {"type": "Polling", "maxRecords": 300},
        },
        "output": {
            "good": {
                "host": "https://acme.cloud.databricks.com",
                "token": placeholder(KEY_ARN),
                "catalog": "main",
                "schema": "snowplow",
                "volume": "events",
            },
            "bad": {"streamName": "t-bad-2"},
        },
        "monitoring": {"healthProbe": {"port": 8000}},
        "telemetry": {"disable": not telemetry},
    }
    assert rendered == expected
    assert as_the_app_reads_it(rendered) == expected


# --- OpenSearch: templates, roles and the setup script (elasticsearch_loader_config.py) ----------------------


def test_index_templates_are_exactly_these():
    assert render_index_template("t-good", "ENRICHED_EVENTS", 1) == {
        "index_patterns": ["t-good"],
        "priority": 100,
        "template": {
            "settings": {"number_of_replicas": 1, "analysis": {"analyzer": {"default": {"type": "keyword"}}}},
            "mappings": {"properties": {"geo_location": {"type": "geo_point"}}},
        },
        "_meta": {"managed_by": "snowplow-pulumi", "purpose": "ENRICHED_EVENTS"},
    }
    assert render_index_template("t-bad", "BAD_ROWS", 0) == {
        "index_patterns": ["t-bad"],
        "priority": 100,
        "template": {
            "settings": {"number_of_replicas": 0, "analysis": {"analyzer": {"default": {"type": "keyword"}}}},
        },
        "_meta": {"managed_by": "snowplow-pulumi", "purpose": "BAD_ROWS"},
    }


def test_security_plugin_roles_and_mapping_are_exactly_these():
    assert render_bad_rows_writer_role("t-bad") == {
        "description": "Snowplow bad-rows loader: writes its index",
        "cluster_permissions": ["cluster_composite_ops", "cluster_manage_index_templates"],
        "index_permissions": [{"index_patterns": ["t-bad"], "allowed_actions": ["crud", "create_index"]}],
    }
    indices = ("t-good", "t-bad")
    assert render_reader_role(indices) == {
        "description": "Snowplow events: read only",
        "cluster_permissions": ["cluster_composite_ops_ro"],
        "index_permissions": [{"index_patterns": ["t-good", "t-bad"], "allowed_actions": ["read"]}],
    }
    assert render_role_mapping("arn:aws:iam::1:role/r") == {"backend_roles": ["arn:aws:iam::1:role/r"]}


def test_json_files_are_indented_json_ending_in_a_newline():
    assert json_file({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}\n'


FAKE_AWS = """#!/bin/bash
[[ "$*" == "configure export-credentials --format env" ]] || exit 9
echo 'export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_SESSION_TOKEN=session'
"""
# Answers each PUT with the next code of $CODES (one per line; the last one repeats), logging its arguments.
FAKE_CURL = """#!/bin/bash
n=$(($(wc -l <"$LOG") + 1))
printf '%s\\n' "$*" >>"$LOG"
code=$(sed -n "${n}p" "$CODES"); [[ -n $code ]] || code=$(tail -n 1 "$CODES")
while (($#)); do [[ $1 == --output ]] && echo "body $n" >"$2"; shift; done
printf '%s' "$code"
"""


def run_setup(tmp_path, codes: list[str], requests: list[SetupRequest]) -> tuple[subprocess.CompletedProcess, list]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {"aws": FAKE_AWS, "curl": FAKE_CURL, "sleep": "#!/bin/bash\necho slept $1 >>$SLEEPS\n"}.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "codes").write_text("\n".join(codes) + "\n")
    (tmp_path / "log").write_text("")
    (tmp_path / "sleeps").write_text("")
    script = tmp_path / "setup.sh"
    script.write_text(render_setup_script("es-loader", "vpc-x.eu-west-1.es.amazonaws.com", "eu-west-1", requests))
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CONFIG_DIR": "/snowplow/config",
        "LOG": str(tmp_path / "log"),
        "CODES": str(tmp_path / "codes"),
        "SLEEPS": str(tmp_path / "sleeps"),
    }
    run = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    return run, (tmp_path / "log").read_text().splitlines() + (tmp_path / "sleeps").read_text().splitlines()


SIGNED_PUT = (
    "--silent --show-error --max-time 30 --output {out} --write-out %{{http_code}} "
    "--aws-sigv4 aws:amz:eu-west-1:es --user AKIDEXAMPLE:secret "
    "--header x-amz-security-token: session --header Content-Type: application/json "
    "--request PUT --data-binary @/snowplow/config/{file} https://vpc-x.eu-west-1.es.amazonaws.com{path}"
)


def test_setup_script_puts_each_file_signed_with_the_instance_role_in_order(tmp_path):
    requests = [
        SetupRequest("/_index_template/t-good", "index-template.json"),
        SetupRequest("/_plugins/_security/api/roles/r w", "role r.json"),
    ]
    run, log = run_setup(tmp_path, ["200", "201"], requests)
    assert run.returncode == 0, run.stderr
    out = log[0].split("--output ")[1].split(" ")[0]
    assert log == [
        SIGNED_PUT.format(out=out, file="index-template.json", path="/_index_template/t-good"),
        SIGNED_PUT.format(out=out, file="role r.json", path="/_plugins/_security/api/roles/r w"),
    ]
    assert run.stderr.splitlines() == ["PUT /_index_template/t-good: 200", "PUT /_plugins/_security/api/roles/r w: 201"]
    assert not Path(out).exists()  # the answer's temporary file is removed


def test_setup_script_retries_until_the_domain_accepts_and_says_why(tmp_path):
    run, log = run_setup(tmp_path, ["503", "000", "200"], [SetupRequest("/_index_template/t", "t.json")])
    assert run.returncode == 0, run.stderr
    assert [line for line in log if line.startswith("slept")] == ["slept 10", "slept 10"]
    assert run.stderr.splitlines() == [
        "PUT /_index_template/t answered 503 (attempt 1): body 1",
        "PUT /_index_template/t answered 000 (attempt 2): body 2",
        "PUT /_index_template/t: 200",
    ]


def test_setup_script_fails_the_boot_after_thirty_refusals_and_puts_nothing_after(tmp_path):
    requests = [SetupRequest("/a", "a.json"), SetupRequest("/b", "b.json")]
    run, log = run_setup(tmp_path, ["403"], requests)
    assert run.returncode == 1
    puts = [line for line in log if not line.startswith("slept")]
    assert len(puts) == 30 and all(line.endswith("https://vpc-x.eu-west-1.es.amazonaws.com/a") for line in puts)
    assert run.stderr.splitlines()[-1] == "PUT /a answered 403 (attempt 30): body 30"


def test_setup_script_refuses_to_run_without_the_config_dir(tmp_path):
    script = render_setup_script("es-loader", "x.es.amazonaws.com", "eu-west-1", [SetupRequest("/a", "a.json")])
    run = subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
    assert run.returncode != 0 and "CONFIG_DIR: set by the boot script" in run.stderr


def test_setup_script_names_its_app_and_quotes_what_it_is_given():
    script = render_setup_script("es-loader", "x.es.amazonaws.com", "eu west", [SetupRequest("/a b", "c d.json")])
    lines = script.splitlines()
    assert lines[:5] == [
        "#!/bin/bash",
        "# Prepares the OpenSearch domain for es-loader: rendered by components/destinations/elasticsearch_loader_config.py.",
        "set -euo pipefail",
        "ENDPOINT=https://x.es.amazonaws.com",
        "REGION='eu west'",
    ]
    assert lines[-1] == "put '/a b' 'c d.json'" and script.endswith("\n")


# --- Enrichments (enrichment_files.py) -----------------------------------------------------------------------


def test_secret_placeholders_are_what_the_boot_resolves():
    assert secret_placeholder("arn:x") == "{{resolve:secretsmanager:arn:x}}"


def test_pii_and_javascript_documents_are_exactly_these():
    config = EnrichmentsConfig.model_validate(
        {
            "pii_enrichment_config": {
                "pii": [{"pojo": {"field": "user_id"}}],
                "strategy": {"pseudonymize": {"hashFunction": "SHA-256", "saltSecretArn": KEY_ARN}},
                "anonymousOnly": True,
            },
            "javascript_script_config": {
                "script": "function process(event) { return []; }",
                "config": {"internalIps": ["10.0.0.1"], "limits": {"max": 3}},
            },
            "ip_lookups": {"isp": {"uri": "s3://acme-assets/maxmind", "database": "GeoIP2-ISP.mmdb"}},
            "campaign_attribution": False,
            "event_fingerprint_config": False,
            "referer_parser": False,
            "ua_parser_config": False,
            "yauaa_enrichment_config": False,
        }
    )
    files = render_enrichments(config)
    assert files == {
        "pii_enrichment_config.json": {
            "schema": "iglu:com.snowplowanalytics.snowplow.enrichments/pii_enrichment_config/jsonschema/2-0-1",
            "data": {
                "name": "pii_enrichment_config",
                "vendor": "com.snowplowanalytics.snowplow.enrichments",
                "enabled": True,
                "emitEvent": False,
                "anonymousOnly": True,
                "parameters": {
                    "pii": [{"pojo": {"field": "user_id"}}],
                    "strategy": {"pseudonymize": {"hashFunction": "SHA-256", "salt": placeholder(KEY_ARN)}},
                },
            },
        },
        "javascript_script_config.json": {
            "schema": "iglu:com.snowplowanalytics.snowplow/javascript_script_config/jsonschema/1-0-1",
            "data": {
                "name": "javascript_script_config",
                "vendor": "com.snowplowanalytics.snowplow",
                "enabled": True,
                "parameters": {
                    "script": "ZnVuY3Rpb24gcHJvY2VzcyhldmVudCkgeyByZXR1cm4gW107IH0=",
                    "config": {"internalIps": ["10.0.0.1"], "limits": {"max": 3}},
                },
            },
        },
        "ip_lookups.json": {
            "schema": "iglu:com.snowplowanalytics.snowplow/ip_lookups/jsonschema/2-0-1",
            "data": {
                "name": "ip_lookups",
                "vendor": "com.snowplowanalytics.snowplow",
                "enabled": True,
                "parameters": {"isp": {"uri": "s3://acme-assets/maxmind", "database": "GeoIP2-ISP.mmdb"}},
            },
        },
    }
    for document in files.values():
        assert_valid_against_iglu(document)


def test_pii_without_anonymous_only_leaves_it_to_enrich_and_an_enrichment_without_parameters_has_none():
    config = EnrichmentsConfig.model_validate(
        {
            "pii_enrichment_config": {
                "pii": [{"pojo": {"field": "user_id"}}],
                "strategy": {"pseudonymize": {"hashFunction": "MD5", "saltSecretArn": KEY_ARN}},
            }
        }
    )
    pii = render_enrichment("pii_enrichment_config", config.enabled()["pii_enrichment_config"])["data"]
    assert "anonymousOnly" not in pii and pii["emitEvent"] is False
    yauaa = render_enrichments(EnrichmentsConfig.model_validate({}))["yauaa_enrichment_config.json"]
    assert yauaa == {
        "schema": "iglu:com.snowplowanalytics.snowplow.enrichments/yauaa_enrichment_config/jsonschema/1-0-0",
        "data": {
            "name": "yauaa_enrichment_config",
            "vendor": "com.snowplowanalytics.snowplow.enrichments",
            "enabled": True,
        },
    }
    assert_valid_against_iglu(yauaa)


def test_asset_locations_join_uri_and_database_once_each_and_ignore_anything_else():
    documents = {
        "a.json": {"data": {"parameters": {"geo": {"uri": "s3://assets/maxmind/", "database": "GeoIP2-City.mmdb"}}}},
        "b.json": {"data": {"list": [{"x": {"uri": "s3://assets/maxmind", "database": "GeoIP2-City.mmdb"}}]}},
        "c.json": {"uri": "s3://assets/iab", "database": 1},
        "d.json": {"uri": 7, "database": "x"},
        "e.json": {"nested": [[{"uri": "https://assets.example/GEOINDEX/", "database": "ISP.mmdb"}]]},
    }
    assert asset_locations(documents) == [
        "https://assets.example/GEOINDEX/ISP.mmdb",
        "s3://assets/maxmind/GeoIP2-City.mmdb",
    ]


# --- Athena columns, dbt archive, signal statistics ----------------------------------------------------------


def test_athena_columns_read_each_enriched_field_with_its_type():
    columns = athena_columns()
    assert len(columns) == 131
    assert columns[:4] == [
        ("app_id", "string"),
        ("platform", "string"),
        ("etl_tstamp", "timestamp"),
        ("collector_tstamp", "timestamp"),
    ]
    types = dict(columns)
    assert (types["event_id"], types["txn_id"], types["geo_latitude"], types["contexts"]) == (
        "string",
        "int",
        "double",
        "string",
    )
    assert (types["br_cookies"], types["dvce_ismobile"], types["true_tstamp"]) == ("tinyint", "tinyint", "timestamp")
    assert columns[-1] == ("true_tstamp", "timestamp")


def write(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_project_files_skip_build_output_installed_packages_and_hidden_files(tmp_path):
    for name in [
        "dbt_project.yml",
        "models/a.sql",
        "models/sub/b.sql",
        "target/run.sql",
        "dbt_packages/p/x.sql",
        "logs/dbt.log",
        "models/__pycache__/c.pyc",
        ".venv/lib.py",
        ".user.yml",
        ".DS_Store",
        "models/.hidden.sql",
        ".git/config",
        "models/.cache/y.sql",
        "models/targets.sql",
    ]:
        write(tmp_path / name)
    names = [p.relative_to(tmp_path).as_posix() for p in project_files(tmp_path)]
    assert names == ["dbt_project.yml", "models/a.sql", "models/sub/b.sql", "models/targets.sql"]


def test_archive_holds_each_project_under_its_name_with_fixed_owners_modes_and_times(tmp_path):
    write(tmp_path / "own" / "dbt_project.yml", "name: own\n")
    write(tmp_path / "own" / "models" / "m.sql", "select 1\n")
    write(tmp_path / "unified" / "dbt_project.yml", "name: unified\n")
    archive = build_archive({"unified": tmp_path / "unified", "dbt": tmp_path / "own"})
    assert archive.files == ("dbt/dbt_project.yml", "dbt/models/m.sql", "unified/dbt_project.yml")
    assert archive.sha256 == hashlib.sha256(archive.content).hexdigest() and archive.digest == archive.sha256[:16]
    assert len(archive.digest) == 16
    assert archive.content[4:8] == b"\0\0\0\0"  # no gzip timestamp
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive.content))) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == list(archive.files)
        assert {(m.mode, m.mtime, m.uid, m.gid, m.type) for m in members} == {(0o644, 0, 0, 0, tarfile.REGTYPE)}
        assert tar.extractfile("dbt/models/m.sql").read() == b"select 1\n"
        assert [m.size for m in members] == [10, 9, 14]
        assert members[0].pax_headers == {}


def test_a_folder_without_dbt_project_yml_is_refused_naming_it(tmp_path):
    write(tmp_path / "models" / "m.sql")
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path} has no dbt_project.yml: the modeling task")):
        build_archive({"dbt": tmp_path})
    (tmp_path / "dbt_project.yml").mkdir()
    with pytest.raises(FileNotFoundError):
        build_archive({"dbt": tmp_path})


@pytest.mark.parametrize(
    ("statistic", "percentile"),
    [
        ("p99", True),
        ("p9", True),
        ("px9", False),
        ("p50", True),
        ("p99.9", True),
        ("p99.9.9", False),
        ("p", False),
        ("pXX", False),
        ("Maximum", False),
        ("Average", False),
        ("SampleCount", False),
        ("tm99", False),
    ],
)
def test_percentiles_are_told_from_plain_statistics(statistic, percentile):
    assert is_percentile(statistic) is percentile

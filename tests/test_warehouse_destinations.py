"""The Snowflake and Databricks streaming loaders: config validation, rendered configs, and the whole stack.

`tests/stacks/Pulumi.full.yaml` enables both: Snowflake with its private key from a `--secret` value (which
the program stores in a secret of its own), Databricks with its token given by ARN.
"""

import base64
import json
import re

import pytest
from pyhocon import ConfigFactory

from components.apps.hocon import hocon_text
from components.destinations.databricks_loader_config import DatabricksVolume, render_databricks_loader_config
from components.destinations.snowflake_loader_config import SnowflakeTarget, render_snowflake_loader_config
from components.destinations.stream_loader import stream_loader_signals
from offline.engine import StackFile, run_program
from offline.preview import plan_document
from stack_config import ConfigError, parse
from stack_config.secrecy import UNDECRYPTED
from tests.conftest import BASE, ROOT, of_type, write_stack

FULL = ROOT / "tests" / "stacks" / "Pulumi.full.yaml"
PLACEHOLDER = re.compile(r"\{\{resolve:secretsmanager:([^}]+)\}\}")
KEY_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowflake-key-AbCdEf"
TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:databricks-token-AbCdEf"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDtestonlyBODY\n-----END PRIVATE KEY-----\n"
SNOWFLAKE = {
    "enabled": True,
    "account": "acme-analytics",
    "user": "SNOWPLOW_LOADER",
    "role": "SNOWPLOW_LOADER",
    "database": "SNOWPLOW",
    "schema": "ATOMIC",
}
DATABRICKS = {
    "enabled": True,
    "host": "https://acme.cloud.databricks.com",
    "catalog": "snowplow",
    "schema": "atomic",
    "volume": "staging",
}


def problems(raw: dict, secret_keys=frozenset()) -> list[str]:
    config = {"environment": "dev", "acceptLimitedUseLicense": True, **raw}
    with pytest.raises(ConfigError) as err:
        parse(config, "eu-west-1", "snowplow", "dev", secret_keys=frozenset(secret_keys))
    return err.value.problems


def accepted(raw: dict, secret_keys=frozenset()):
    config = {"environment": "dev", "acceptLimitedUseLicense": True, **raw}
    return parse(config, "eu-west-1", "snowplow", "dev", secret_keys=frozenset(secret_keys)).config


# --- validation -------------------------------------------------------------------------------------------


def test_snowflake_enabled_without_a_key_names_the_key_and_where_a_value_may_go():
    (problem,) = problems({"destinations": {"snowflake": SNOWFLAKE}})
    assert problem.startswith("snowplow:destinations.snowflake.privateKeySecretArn: required when")
    assert "snowplow:destinationSecrets.snowflakePrivateKey" in problem


def test_each_missing_warehouse_setting_is_named():
    found = problems({"destinations": {"snowflake": {"enabled": True, "privateKeySecretArn": KEY_ARN}}})
    assert [p.split(":")[1] for p in found] == [
        f"destinations.snowflake.{key}" for key in ("account", "user", "role", "database", "schema")
    ]
    found = problems({"destinations": {"databricks": {"enabled": True}}})
    assert [p.split(":")[1] for p in found] == [
        *(f"destinations.databricks.{key}" for key in ("host", "catalog", "schema", "volume")),
        "destinations.databricks.tokenSecretArn",
    ]


def test_a_credential_comes_from_one_place_only():
    (problem,) = problems(
        {
            "destinations": {"snowflake": {**SNOWFLAKE, "privateKeySecretArn": KEY_ARN}},
            "destinationSecrets": {"snowflakePrivateKey": PEM},
        },
        {"destinationSecrets"},
    )
    assert problem.startswith("snowplow:destinations.snowflake.privateKeySecretArn: set either it or")


def test_credentials_in_plain_text_are_refused_without_echoing_them():
    found = problems({"destinations": {"snowflake": SNOWFLAKE}, "destinationSecrets": {"snowflakePrivateKey": PEM}})
    assert found[0].startswith("snowplow:destinationSecrets: holds credentials, so it is accepted only when set with")
    assert "testonlyBODY" not in "".join(found)


def test_a_pkcs1_key_is_refused_with_the_conversion_and_never_quoted():
    pkcs1 = PEM.replace("PRIVATE KEY", "RSA PRIVATE KEY")
    (problem,) = problems(
        {"destinations": {"snowflake": SNOWFLAKE}, "destinationSecrets": {"snowflakePrivateKey": pkcs1}},
        {"destinationSecrets"},
    )
    assert problem.startswith("snowplow:destinationSecrets.snowflakePrivateKey: must be a PKCS#8 private key")
    assert "openssl pkcs8 -topk8" in problem and "testonlyBODY" not in problem


def test_an_encrypted_key_needs_its_passphrase():
    encrypted = PEM.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
    raw = {"destinations": {"snowflake": SNOWFLAKE}, "destinationSecrets": {"snowflakePrivateKey": encrypted}}
    (problem,) = problems(raw, {"destinationSecrets"})
    assert problem.startswith("snowplow:destinationSecrets.snowflakePrivateKeyPassphrase: the private key is encrypted")
    raw["destinationSecrets"]["snowflakePrivateKeyPassphrase"] = "correct horse"
    assert accepted(raw, {"destinationSecrets"}).destination_secrets.snowflake_private_key_passphrase


def test_an_undecryptable_value_offline_is_left_to_the_cli():
    raw = {"destinations": {"snowflake": SNOWFLAKE}, "destinationSecrets": {"snowflakePrivateKey": UNDECRYPTED}}
    assert accepted(raw, {"destinationSecrets"}).destinations.snowflake.enabled


def test_credentials_of_a_disabled_destination_are_refused():
    found = problems(
        {
            "destinations": {"databricks": {"tokenSecretArn": TOKEN_ARN}},
            "destinationSecrets": {"snowflakePrivateKey": PEM},
        },
        {"destinationSecrets"},
    )
    assert sorted(p.split(":")[1] for p in found) == [
        "destinationSecrets.snowflakePrivateKey",
        "destinations.databricks.tokenSecretArn",
    ]


def test_identifiers_and_hosts_are_checked():
    found = problems(
        {
            "destinations": {
                "snowflake": {
                    **SNOWFLAKE,
                    "account": "https://acme.snowflakecomputing.com",
                    "privateKeySecretArn": KEY_ARN,
                },
                "databricks": {**DATABRICKS, "host": "https://acme.cloud.databricks.com/", "tokenSecretArn": TOKEN_ARN},
            }
        }
    )
    assert sorted(p.split(":")[1] for p in found) == ["destinations.databricks.host", "destinations.snowflake.account"]


def test_loaders_stay_within_the_enriched_streams_shards():
    (problem,) = problems(
        {"destinations": {"snowflake": {**SNOWFLAKE, "privateKeySecretArn": KEY_ARN, "size": {"maxSize": 3}}}}
    )
    assert problem.startswith(
        "snowplow:destinations.snowflake.size.maxSize: 3 exceeds snowplow:streams.shards.enriched"
    )


# --- rendered configs -------------------------------------------------------------------------------------


def render_snowflake(passphrase_arn=None) -> str:
    target = SnowflakeTarget(
        "https://acme-analytics.snowflakecomputing.com", "U", "R", "DB", "S", "events", KEY_ARN, passphrase_arn
    )
    return hocon_text(
        render_snowflake_loader_config(
            app_name="sp-dev-snowflake-loader",
            stream="sp-dev-enriched",
            initial_position="TRIM_HORIZON",
            max_records=1000,
            failures_stream="sp-dev-bad-2",
            target=target,
            telemetry=False,
        )
    )


def test_snowflake_config_has_the_keys_the_loader_requires_and_a_channel_per_instance(monkeypatch):
    text = render_snowflake()
    monkeypatch.setenv("SNOWPLOW_INSTANCE_ID", "i-0123456789abcdef0")
    config = ConfigFactory.parse_string(text)  # what the loader's HOCON parser sees, with its environment
    assert config["output.good.channel"] == "i-0123456789abcdef0"
    assert config["input.streamName"] == "sp-dev-enriched" and config["input.appName"] == "sp-dev-snowflake-loader"
    assert config["input.retrievalMode"] == {"type": "Polling", "maxRecords": 1000}
    assert config["output.bad.streamName"] == "sp-dev-bad-2"
    good = config["output.good"]
    assert {k: good[k] for k in ("url", "user", "role", "database", "schema", "table")} == {
        "url": "https://acme-analytics.snowflakecomputing.com",
        "user": "U",
        "role": "R",
        "database": "DB",
        "schema": "S",
        "table": "events",
    }
    assert PLACEHOLDER.fullmatch(good["privateKey"])[1] == KEY_ARN and "privateKeyPassphrase" not in good
    assert config["license.accept"] is True and config["monitoring.healthProbe.port"] == 8000


def test_snowflake_passphrase_is_a_placeholder_too(monkeypatch):
    monkeypatch.setenv("SNOWPLOW_INSTANCE_ID", "i-0")
    config = ConfigFactory.parse_string(render_snowflake("arn:aws:secretsmanager:eu-west-1:1:secret:p-AbCdEf"))
    assert PLACEHOLDER.fullmatch(config["output.good.privateKeyPassphrase"])


def test_databricks_config_has_the_keys_the_loader_requires():
    config = ConfigFactory.parse_string(
        hocon_text(
            render_databricks_loader_config(
                app_name="sp-dev-databricks-loader",
                stream="sp-dev-enriched",
                initial_position="LATEST",
                max_records=500,
                failures_stream="sp-dev-bad-2",
                target=DatabricksVolume("https://acme.cloud.databricks.com", "c", "s", "v", TOKEN_ARN),
                telemetry=True,
            )
        )
    )
    good = config["output.good"]
    assert (good["host"], good["catalog"], good["schema"], good["volume"]) == (
        "https://acme.cloud.databricks.com",
        "c",
        "s",
        "v",
    )
    assert PLACEHOLDER.fullmatch(good["token"])[1] == TOKEN_ARN and "oauth" not in good
    assert config["input.appName"] == "sp-dev-databricks-loader" and config["input.initialPosition.type"] == "LATEST"
    assert config["output.bad.streamName"] == "sp-dev-bad-2" and config["telemetry.disable"] is False


def test_signals_watch_the_enriched_stream_and_the_group():
    age, in_service = stream_loader_signals("snowflake-loader", "sp-dev-enriched", "sp-dev-snowflake-loader", 2)
    assert (age.namespace, age.metric_name, dict(age.dimensions)) == (
        "AWS/Kinesis",
        "GetRecords.IteratorAgeMilliseconds",
        {"StreamName": "sp-dev-enriched"},
    )
    assert (in_service.metric_name, in_service.threshold, in_service.comparison) == (
        "GroupInServiceInstances",
        2,
        "LessThanThreshold",
    )


# --- the whole stack --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full():
    return run_program(StackFile.read(FULL))


def named(run, type_token: str, name: str) -> dict:
    (found,) = [r for r in of_type(run, type_token) if r["name"] == name]
    return found


def files_of(run, app: str) -> dict[str, str]:
    return {
        r["inputs"]["metadata"]["snowplow-file"]: r["inputs"]["content"]
        for r in of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"]["metadata"]["snowplow-app"] == app
    }


def statements(run, app: str) -> dict[str, dict]:
    document = json.loads(named(run, "aws:iam/rolePolicy:RolePolicy", f"{app}-service-policy")["inputs"]["policy"])
    return {s["Sid"]: s for s in document["Statement"]}


def user_data(run, app: str) -> str:
    template = named(run, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-service-lt")
    return base64.b64decode(template["inputs"]["userData"]).decode()


def stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:eu-west-1:123456789012:stream/{name}"


@pytest.mark.parametrize("app", ["snowflake-loader", "databricks-loader"])
def test_each_loader_reads_enriched_on_its_own_lease_table_and_fails_to_bad_2(full, monkeypatch, app):
    monkeypatch.setenv("SNOWPLOW_INSTANCE_ID", "i-0")
    config = ConfigFactory.parse_string(files_of(full, app)[f"{app}.hocon"])
    table = named(full, "aws:dynamodb/table:Table", f"{app}-leases")
    assert config["input.appName"] == table["inputs"]["name"] == f"snowplow-full-{app}"
    assert table["inputs"]["serverSideEncryption"]["kmsKeyArn"] == full.outputs["kms_key_arn"] and table["protect"]
    assert config["input.streamName"] == full.outputs["stream_names"]["enriched"]
    assert config["output.bad.streamName"] == full.outputs["stream_names"]["bad2"]
    granted = statements(full, app)
    assert granted["ReadEnrichedStream"]["Resource"] == [stream_arn("snowplow-full-enriched")]
    assert granted["WriteLoaderFailures"]["Resource"] == [stream_arn("snowplow-full-bad-2")]
    assert granted["KclLeaseTable"]["Resource"] == [
        f"arn:aws:dynamodb:eu-west-1:123456789012:table/snowplow-full-{app}"
    ]
    assert "dynamodb:CreateTable" not in json.dumps(granted)
    group = named(full, "aws:autoscaling/group:Group", f"{app}-service-asg")["inputs"]
    tags = {t["key"]: t["value"] for t in group["tags"]}
    assert (
        tags["snowplow:kcl-app"] == f"snowplow-full-{app}" and tags["snowplow:input-stream"] == "snowplow-full-enriched"
    )
    assert group["maxSize"] <= 4  # the fixture's enriched shards


@pytest.mark.parametrize("app", ["snowflake-loader", "databricks-loader"])
def test_health_port_is_open_only_within_the_loaders_own_group(full, app):
    rules = [
        r["inputs"]
        for r in of_type(full, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith(f"{app}-")
    ]
    (rule,) = rules
    assert rule["fromPort"] == rule["toPort"] == 8000
    assert rule["referencedSecurityGroupId"] == rule["securityGroupId"] and "cidrIpv4" not in rule
    assert "HEALTH_URL=http://127.0.0.1:8000/" in user_data(full, app)


def test_snowflake_key_is_a_stack_secret_read_at_boot_and_nowhere_in_plain(full):
    secret = named(full, "aws:secretsmanager/secret:Secret", "snowflake-loader-private-key")
    assert secret["inputs"]["name"] == "snowplow-full/snowflake/private-key" and secret["protect"]
    assert secret["inputs"]["kmsKeyId"] == full.outputs["kms_key_arn"]
    arn = full.outputs["snowflake_destination"]["privateKeySecretArn"]
    assert arn.endswith(":secret:snowplow-full/snowflake/private-key-AbCdEf")
    version = named(full, "aws:secretsmanager/secretVersion:SecretVersion", "snowflake-loader-private-key")
    assert version["inputs"]["secretString"] == "[secret]"
    config = files_of(full, "snowflake-loader")["snowflake-loader.hocon"]
    assert PLACEHOLDER.findall(config) == [arn]
    assert statements(full, "snowflake-loader")["ReadReferencedSecrets"]["Resource"] == [arn]
    assert "snowflake-loader-private-key" not in user_data(full, "snowflake-loader")


def test_databricks_loader_reads_its_token_by_arn_and_resolves_schemas_like_enrich(full):
    files = files_of(full, "databricks-loader")
    assert PLACEHOLDER.findall(files["databricks-loader.hocon"]) == [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowplow/databricks-token-AbCdEf"
    ]
    assert files["iglu_resolver.json"] == files_of(full, "enrich")["iglu_resolver.json"]
    granted = set(statements(full, "databricks-loader")["ReadReferencedSecrets"]["Resource"])
    assert (
        set(PLACEHOLDER.findall(files["iglu_resolver.json"]))
        | set(PLACEHOLDER.findall(files["databricks-loader.hocon"]))
        == granted
    )
    script = user_data(full, "databricks-loader")
    assert "snowplow/databricks-loader-kinesis:0.5.0" in script
    assert "--iglu-config\n  /snowplow/config/iglu_resolver.json" in script
    assert full.outputs["databricks_destination"]["eventsPath"] == "/Volumes/snowplow/atomic/snowplow_staging/events"


def test_a_decrypted_key_reaches_only_its_secret_version(tmp_path):
    """As the CLI runs it: the value decrypted, the key marked secret. It must appear nowhere but in the
    SecretVersion's (secret) input: not in files, user data, outputs or the plan."""
    stack = StackFile.read(FULL)
    config = dict(stack.config)
    config["snowplow:destinationSecrets"] = json.dumps({"snowflakePrivateKey": PEM})
    run = run_program(StackFile(tmp_path / "Pulumi.full.yaml", "full", config, stack.secret_keys))
    version = named(run, "aws:secretsmanager/secretVersion:SecretVersion", "snowflake-loader-private-key")
    assert run.revealed_inputs[version["urn"]]["secretString"] == PEM
    assert "testonlyBODY" not in json.dumps(plan_document(run)) + json.dumps(run.outputs)
    for template in of_type(run, "aws:ec2/launchTemplate:LaunchTemplate"):
        assert "testonlyBODY" not in base64.b64decode(template["inputs"]["userData"]).decode()
    assert all("testonlyBODY" not in text for text in files_of(run, "snowflake-loader").values())


def test_dev_stack_with_values_for_the_passphrase_and_token_and_no_iglu_server(tmp_path):
    """Snowflake key by ARN with its passphrase as a --secret value; Databricks token as a --secret value;
    Iglu Central only, so the Databricks loader reads no Iglu key."""
    secure = {"secure": "v1:bm90LWEtcmVhbC12YWx1ZQ=="}
    config = {
        **BASE,
        "snowplow:destinations": {
            "snowflake": {**SNOWFLAKE, "privateKeySecretArn": KEY_ARN},
            "databricks": DATABRICKS,
        },
        "snowplow:destinationSecrets": {"snowflakePrivateKeyPassphrase": secure, "databricksToken": secure},
    }
    run = run_program(StackFile.read(write_stack(tmp_path, "dev", config)))
    created = {r["name"]: r for r in of_type(run, "aws:secretsmanager/secret:Secret")}
    assert {"snowflake-loader-private-key-passphrase", "databricks-loader-token"} <= set(created)
    assert "snowflake-loader-private-key" not in created
    assert not created["databricks-loader-token"]["protect"]  # dev: destroyed with the stack
    passphrase_arn = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{created['snowflake-loader-private-key-passphrase']['inputs']['name']}-AbCdEf"
    assert sorted(statements(run, "snowflake-loader")["ReadReferencedSecrets"]["Resource"]) == sorted(
        [KEY_ARN, passphrase_arn]
    )
    snowflake = files_of(run, "snowflake-loader")["snowflake-loader.hocon"]
    assert PLACEHOLDER.findall(snowflake) == [KEY_ARN, passphrase_arn]
    files = files_of(run, "databricks-loader")
    assert PLACEHOLDER.findall(files["iglu_resolver.json"]) == []
    (token_arn,) = statements(run, "databricks-loader")["ReadReferencedSecrets"]["Resource"]
    assert (
        PLACEHOLDER.findall(files["databricks-loader.hocon"])
        == [token_arn]
        == [run.outputs["databricks_destination"]["tokenSecretArn"]]
    )
    group = named(run, "aws:autoscaling/group:Group", "snowflake-loader-service-asg")["inputs"]
    assert (group["minSize"], group["maxSize"]) == (1, 1)


def test_warehouse_messages_name_the_key_what_it_holds_and_where_else_it_may_go():
    (snowflake,) = problems({"destinations": {"snowflake": SNOWFLAKE}})
    assert snowflake == (
        "snowplow:destinations.snowflake.privateKeySecretArn: required when snowplow:destinations.snowflake.enabled "
        "is true: the ARN of a Secrets Manager secret holding the loader user's PKCS#8 private key (PEM), or set the "
        "value with `pulumi config set --secret --path snowplow:destinationSecrets.snowflakePrivateKey ...` "
        "(got nothing)"
    )
    *missing, token = problems({"destinations": {"databricks": {"enabled": True}}})
    assert missing == [
        f"snowplow:destinations.databricks.{key}: required when snowplow:destinations.databricks.enabled is true"
        for key in ("host", "catalog", "schema", "volume")
    ]
    assert token == (
        "snowplow:destinations.databricks.tokenSecretArn: required when snowplow:destinations.databricks.enabled is "
        "true: the ARN of a Secrets Manager secret holding a Databricks personal access token of the loader's "
        "(service) principal, or set the value with `pulumi config set --secret --path "
        "snowplow:destinationSecrets.databricksToken ...` (got nothing)"
    )
    encrypted = PEM.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
    raw = {"destinations": {"snowflake": SNOWFLAKE}, "destinationSecrets": {"snowflakePrivateKey": encrypted}}
    assert problems(raw, {"destinationSecrets"}) == [
        "snowplow:destinationSecrets.snowflakePrivateKeyPassphrase: the private key is encrypted: set its passphrase "
        "here (with --secret) or in snowplow:destinations.snowflake.privateKeyPassphraseSecretArn (got nothing)"
    ]


def test_the_passphrase_too_comes_from_one_place_only():
    snowflake = {**SNOWFLAKE, "privateKeySecretArn": KEY_ARN, "privateKeyPassphraseSecretArn": KEY_ARN}
    only_arn = accepted({"destinations": {"snowflake": snowflake}})
    assert only_arn.destinations.snowflake.private_key_passphrase_secret_arn == KEY_ARN
    both = {"destinations": {"snowflake": snowflake}, "destinationSecrets": {"snowflakePrivateKeyPassphrase": "pw-1"}}
    (problem,) = problems(both, {"destinationSecrets"})
    assert problem.startswith("snowplow:destinations.snowflake.privateKeyPassphraseSecretArn: set either it or ")
    assert problem.endswith(", not both (got [secret])")
    disabled = {"snowflake": {"privateKeyPassphraseSecretArn": KEY_ARN}}
    assert problems({"destinations": disabled}) == [
        "snowplow:destinations.snowflake.privateKeyPassphraseSecretArn: only used when "
        "snowplow:destinations.snowflake.enabled is true: remove it or enable the destination (got [secret])"
    ]


def test_a_warehouse_loader_never_outnumbers_the_enriched_shards():
    snowflake = {**SNOWFLAKE, "privateKeySecretArn": KEY_ARN, "size": {"minSize": 1, "maxSize": 3}}
    streams = {"mode": "PROVISIONED", "shards": {"enriched": 2}}
    assert problems({"destinations": {"snowflake": snowflake}, "streams": streams}) == [
        "snowplow:destinations.snowflake.size.maxSize: 3 exceeds snowplow:streams.shards.enriched (2); a Kinesis "
        "consumer never uses more instances than its input stream has shards: raise the shards or lower maxSize"
    ]

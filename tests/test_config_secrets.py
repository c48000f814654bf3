"""Secrets stay where they belong: references only by ARN in *SecretArn keys, to the stack's own account and
region unless allowlisted, never echoed in errors, and `--secret` values stay secret through the program."""

import contextvars
import json
from datetime import date

import pytest
from pulumi.runtime import config as runtime_config

from offline import preview as preview_cli
from offline.engine import CapturingMonitor, StackFile, run_program
from stack_config import ConfigError, check_secret_arns, parse
from stack_config.load import raw_namespace, secret_namespace_keys
from stack_config.secrecy import UNDECRYPTED, Secrecy
from stack_config.secrets import referenced_secrets
from tests.conftest import BASE, of_type, write_stack

GOOD = {"environment": "dev", "acceptLimitedUseLicense": True}
ACCOUNT, OTHER_ACCOUNT = "123456789012", "210987654321"  # the offline mocks' caller identity, and another
PASSWORD = "hunter2-Correct-Horse"


def arn(name: str, region: str = "eu-west-1", account: str = ACCOUNT, partition: str = "aws") -> str:
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:snowplow/{name}-AbCdEf"


def currency(api_key_arn: str) -> dict:
    conversion = {"apiKeySecretArn": api_key_arn, "baseCurrency": "EUR", "accountType": "DEVELOPER"}
    return {"enrichments": {"currency_conversion_config": conversion}}


def pii(salt_arn: str) -> dict:
    strategy = {"pseudonymize": {"hashFunction": "SHA-256", "saltSecretArn": salt_arn}}
    return {"pii_enrichment_config": {"pii": [{"pojo": {"field": "user_id"}}], "strategy": strategy}}


def sql(connection: dict) -> dict:
    postgresql = {"host": "crm.internal", "port": 5432, "username": "ro", "database": "crm", **connection}
    return {
        "enrichments": {
            "sql_query_enrichment_config": {
                "inputs": [{"placeholder": 1, "pojo": {"field": "user_id"}}],
                "database": {"postgresql": postgresql},
                "query": {"sql": "SELECT plan FROM customers WHERE user_id = ?"},
                "output": {
                    "expectedRows": "AT_MOST_ONE",
                    "json": {
                        "schema": "iglu:com.acme/customer/jsonschema/1-0-0",
                        "describes": "ALL_ROWS",
                        "propertyNames": "CAMEL_CASE",
                    },
                },
                "cache": {"size": 10, "ttl": 60},
            }
        }
    }


def rejected(raw: dict, secret_keys=frozenset()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse({**GOOD, **raw}, "eu-west-1", "snowplow", "test", secret_keys=frozenset(secret_keys))
    return caught.value.problems


def registered_during(run) -> list[str]:
    """Types registered while `run()` executes (expected to raise)."""
    types, original = [], CapturingMonitor.RegisterResource

    def spy(self, request):
        types.append(request.type)
        return original(self, request)

    CapturingMonitor.RegisterResource = spy
    try:
        with pytest.raises(ConfigError) as caught:
            run()
    finally:
        CapturingMonitor.RegisterResource = original
    return [t for t in types if t.startswith("aws:")], caught.value.problems


# --- resolver references only where the program writes them ------------------------------------

REFERENCE = "{{resolve:secretsmanager:" + arn("x") + "}}"


@pytest.mark.parametrize(
    "raw,key",
    [
        ({"collector": {"cookie": {"name": REFERENCE}}}, "snowplow:collector.cookie.name"),
        (
            {"iglu": {"registries": [{"name": REFERENCE, "uri": "https://i.acme.com"}]}},
            "snowplow:iglu.registries[0].name",
        ),
        (
            {"enrich": {"enrichments": {"http_header_extractor_config": {"headersPattern": REFERENCE}}}},
            "snowplow:enrich.enrichments.http_header_extractor_config.headersPattern",
        ),
        ({"enrich": sql({"username": "{{ RESOLVE : ssm:/db/user }}"})}, "...postgresql.username"),
        ({"enrich": sql({"passwordSecretArn": REFERENCE})}, "...postgresql.passwordSecretArn"),
        ({"enrich": sql({"database": "crm resolve:secretsmanager:x}}"})}, "...postgresql.database"),
        ({"tags": {"owner": REFERENCE}}, "snowplow:tags.owner"),
        ({"collector": {"customPaths": {REFERENCE: "/r/tp2"}}}, "snowplow:collector.customPaths"),
    ],
)
def test_a_secret_reference_outside_a_secret_arn_key_is_rejected_naming_the_key(raw, key):
    problems = rejected(raw)
    prefix = key.replace("...", "snowplow:enrich.enrichments.sql_query_enrichment_config.database.")
    line = next((p for p in problems if p.startswith(prefix)), None)
    assert line is not None and "Secrets Manager references ({{resolve:...}}) are not accepted" in line, problems


# --- referenced secrets: own account and region, or allowlisted ---------------------------------


@pytest.mark.parametrize(
    "secret,reason",
    [
        (arn("fx", account=OTHER_ACCOUNT), f"its account is not the stack's account {ACCOUNT}"),
        (arn("fx", region="us-east-1"), "its region is not the stack's region eu-west-1"),
        (arn("fx", partition="aws-cn", region="cn-north-1"), "its partition is not aws"),
    ],
)
def test_a_foreign_secret_is_rejected_before_any_resource_exists(preview, secret, reason):
    registered, problems = registered_during(lambda: preview({"snowplow:enrich": currency(secret)}))
    assert registered == []
    (line,) = problems
    key = "snowplow:enrich.enrichments.currency_conversion_config.apiKeySecretArn"
    assert line.startswith(f"{key}: must name a secret in the stack's own account and region, or one listed in")
    assert "snowplow:secrets.allowedArns" in line and reason in line
    assert secret not in line and line.endswith("(got [secret])")


KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def kms_key(region: str = "eu-west-1", account: str = ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{KEY_ID}"


def statements(run, app: str) -> dict[str, dict]:
    (policy,) = [p for p in of_type(run, "aws:iam/rolePolicy:RolePolicy") if p["name"] == f"{app}-service-policy"]
    return {s["Sid"]: s for s in json.loads(policy["inputs"]["policy"])["Statement"]}


def test_an_allowlisted_foreign_secret_is_accepted_and_granted_with_the_key_that_encrypts_it(preview):
    """Read across accounts, a secret is encrypted with a customer-managed key of its own account, and the reader
    needs kms:Decrypt on that key in its own policy too (AWS's cross-account secrets guide), or boot is denied."""
    shared, own = arn("fx", account=OTHER_ACCOUNT, region="us-east-1"), arn("pii-salt")
    enrich = {"enrichments": {**currency(shared)["enrichments"], **pii(own)}}
    secrets = {"allowedArns": [shared], "kmsKeyArns": [kms_key("us-east-1", OTHER_ACCOUNT)]}
    run = preview({"snowplow:enrich": enrich, "snowplow:secrets": secrets})
    granted = statements(run, "enrich")
    assert set(granted["ReadReferencedSecrets"]["Resource"]) == {shared, own}
    assert granted["SecretKeysDecryptReferencedSecrets"] == {
        "Sid": "SecretKeysDecryptReferencedSecrets",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [kms_key("us-east-1", OTHER_ACCOUNT)],
        "Condition": {
            "StringEquals": {
                "kms:ViaService": ["secretsmanager.us-east-1.amazonaws.com"],
                "kms:EncryptionContext:SecretARN": [shared],  # not the stack-account secret
            }
        },
    }
    assert "SecretKeysDecryptReferencedSecrets" not in statements(run, "collector")


def test_a_customer_managed_key_of_the_stacks_own_account_may_be_listed_too(preview):
    own = arn("fx")
    run = preview({"snowplow:enrich": currency(own), "snowplow:secrets": {"kmsKeyArns": [kms_key()]}})
    grant = statements(run, "enrich")["SecretKeysDecryptReferencedSecrets"]
    assert grant["Resource"] == [kms_key()]
    assert grant["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == [own]


def test_a_secret_read_across_accounts_without_its_key_is_rejected_naming_both_keys(preview):
    shared = arn("fx", account=OTHER_ACCOUNT)
    registered, problems = registered_during(
        lambda: preview({"snowplow:enrich": currency(shared), "snowplow:secrets": {"allowedArns": [shared]}})
    )
    assert registered == []
    (line,) = problems
    assert line.startswith("snowplow:enrich.enrichments.currency_conversion_config.apiKeySecretArn: ")
    assert f"list that key (arn:aws:kms:eu-west-1:{OTHER_ACCOUNT}:key/<id>) in snowplow:secrets.kmsKeyArns" in line
    assert shared not in line


@pytest.mark.parametrize(
    "key,message",
    [
        (kms_key("us-east-1"), "no *SecretArn key names a secret in its account and region"),
        (f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/snowplow", "must be the ARN of a KMS key"),
        (f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*", "must be the ARN of a KMS key"),
    ],
)
def test_a_listed_key_must_be_an_exact_key_arn_that_encrypts_a_referenced_secret(preview, key, message):
    registered, problems = registered_during(
        lambda: preview({"snowplow:enrich": currency(arn("fx")), "snowplow:secrets": {"kmsKeyArns": [key]}})
    )
    assert registered == []
    (line,) = problems
    assert line.startswith("snowplow:secrets.kmsKeyArns[0]: ") and message in line


@pytest.mark.parametrize("key", ["enrich", "allowlist"])
def test_a_partial_secret_arn_is_rejected_because_the_grant_would_not_match_the_secret(key):
    """IAM matches a secret by its full ARN, which ends in `-` and six characters Secrets Manager adds: a grant on
    `...:secret:snowplow/fx` denies GetSecretValue on `...:secret:snowplow/fx-AbCdEf` at boot."""
    partial = arn("fx").removesuffix("-AbCdEf")
    raw = {"enrich": currency(partial)} if key == "enrich" else {"secrets": {"allowedArns": [partial]}}
    (line,) = rejected(raw)
    where = (
        "enrich.enrichments.currency_conversion_config.apiKeySecretArn" if key == "enrich" else "secrets.allowedArns[0]"
    )
    assert line.startswith(f"snowplow:{where}: must be the full ARN of a Secrets Manager secret")
    assert "six characters" in line
    assert parse({**GOOD, "enrich": currency(arn("fx"))}, "eu-west-1", "snowplow", "test")


def test_the_allowlist_takes_exact_secret_arns_only():
    (line,) = rejected({"secrets": {"allowedArns": ["arn:aws:secretsmanager:*:*:secret:*"]}})
    assert line.startswith("snowplow:secrets.allowedArns[0]: must be the full ARN of a Secrets Manager secret")


# --- errors never show a secret ----------------------------------------------------------------


def test_a_plain_password_where_an_arn_belongs_is_rejected_without_echoing_it():
    problems = rejected({"enrich": sql({"passwordSecretArn": PASSWORD})})
    (line,) = problems
    key = "snowplow:enrich.enrichments.sql_query_enrichment_config.database.postgresql.passwordSecretArn"
    assert line.startswith(f"{key}: must be the full ARN of a Secrets Manager secret") and line.endswith(
        "(got [secret])"
    )
    assert PASSWORD not in line


def test_a_password_under_an_unknown_key_is_not_echoed_either():
    problems = rejected({"enrich": sql({"passwordSecretArn": arn("db"), "password": PASSWORD, "apiToken": PASSWORD})})
    assert len(problems) == 2 and all("unknown key (value [secret])" in p for p in problems)
    assert PASSWORD not in "\n".join(problems)


def test_secret_like_values_inside_an_echoed_mapping_are_masked():
    problems = rejected({"tags": {"deploy-token": PASSWORD, "owner": "x\u0000"}})
    assert PASSWORD not in "\n".join(problems)
    assert any('"deploy-token": "[secret]"' in p for p in problems), problems


def test_values_of_a_key_set_with_secret_are_not_echoed_even_inside_messages():
    hidden = "/com.secret-partner/track"  # a validator quotes the path in its message
    raw = {"collector": {"customPaths": {hidden: "/not/a-target"}}}
    problems = rejected(raw, secret_keys={"collector"})
    assert problems and hidden not in "\n".join(problems) and PASSWORD not in "\n".join(problems)
    assert problems[0].startswith("snowplow:collector.customPaths:")


@pytest.mark.parametrize(
    "key", ["tags", "network", "streams", "environment", "operations", "secrets", "loaders", "destinations"]
)
def test_keys_that_become_plain_resource_properties_cannot_be_secret(key):
    value = {"environment": "dev"}.get(key, {})
    (line,) = rejected({key: value}, secret_keys={key})
    assert line.startswith(f"snowplow:{key}: was set with --secret, but its values become plain resource properties")
    assert line.endswith("(got [secret])")


def test_the_engine_secret_keys_are_read_from_the_cli_environment(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["snowplow:enrich", "aws:accessKey"]))
    assert secret_namespace_keys() == frozenset({"enrich"})


# --- a forgotten --path ------------------------------------------------------------------------


def test_a_key_set_without_path_gets_the_command_that_fixes_it():
    (line,) = rejected({"collector.size.minSize": 2})
    assert line == (
        "snowplow:collector.size.minSize: this is one top-level key named 'collector.size.minSize', because "
        "`pulumi config set` ran without --path; it belongs under snowplow:collector. Fix: pulumi config rm "
        "snowplow:collector.size.minSize && pulumi config set --path snowplow:collector.size.minSize 2 (got 2)"
    )


def test_a_secret_key_set_without_path_is_fixed_with_secret_and_not_echoed():
    (line,) = rejected({"iglu.registries[0].uri": PASSWORD}, secret_keys={"iglu.registries[0].uri"})
    assert "pulumi config set --secret --path 'snowplow:iglu.registries[0].uri' <value> (got [secret])" in line
    assert PASSWORD not in line


def test_an_unknown_dotted_key_lists_the_keys_and_mentions_path():
    (line,) = rejected({"colector.size": {}})
    assert line.startswith("snowplow:colector.size: unknown key (value {}); allowed keys here: environment, ")
    assert line.endswith(
        ", secrets, observability, analysis, modeling (nested keys are set with `pulumi config set --path`)"
    )


def test_a_text_value_set_without_path_is_quoted_for_the_shell_in_the_fix():
    (line,) = rejected({"collector.cookie.name": "my cookie"})
    assert line.endswith(
        "Fix: pulumi config rm snowplow:collector.cookie.name && "
        "pulumi config set --path snowplow:collector.cookie.name 'my cookie' (got \"my cookie\")"
    )


# --- --secret values stay secret through the program -------------------------------------------

NESTED_SECURE = {
    **BASE,
    "snowplow:enrich": {
        "enrichments": {"http_header_extractor_config": {"headersPattern": {"secure": "v1:bm9uY2U=:Y2lwaGVy"}}}
    },
}


def contents(run, app: str) -> dict[str, object]:
    return {
        r["inputs"]["metadata"]["snowplow-file"]: r["inputs"]["content"]
        for r in of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"]["metadata"]["snowplow-app"] == app
    }


def test_a_nested_secure_leaf_previews_offline_and_makes_what_it_renders_secret(tmp_path, capsys):
    stack = write_stack(tmp_path, "nested", NESTED_SECURE)
    stack_file = StackFile.read(stack)
    assert stack_file.secret_keys == ["snowplow:enrich"]
    assert "v1:" not in json.dumps(stack_file.config)

    plan = tmp_path / "plan.json"
    render = tmp_path / "files"
    code = preview_cli.main(["--config", str(stack), "--json", str(plan), "--render", str(render), "--no-policy"])
    assert code == preview_cli.EXIT_OK
    document = json.loads(plan.read_text())
    objects = [r for r in document["resources"] if r["type"] == "aws:s3/bucketObjectv2:BucketObjectv2"]
    enrich = {r["name"]: r["inputs"]["content"] for r in objects if "enrich-service-file-enrich" in r["name"]}
    assert enrich and set(enrich.values()) == {"[secret]"}  # enrich.hocon and every enrichment file
    # The manifest lists checksums of those contents, so it is as secret as they are.
    manifest = {
        r["name"]: r["inputs"]["content"] for r in objects if r["name"] == "enrich-service-file-manifest-sha256"
    }
    assert manifest == {"enrich-service-file-manifest-sha256": "[secret]"}
    others = [r["inputs"]["content"] for r in objects if r["name"] not in enrich and r["name"] not in manifest]
    assert others and all(c != "[secret]" for c in others)  # collector, resolver, loaders: not from enrich
    assert document["outputs"]["enabled_enrichments"] == "[secret]"
    # Offline nothing is decrypted: the rendered file shows the placeholder where the secret goes.
    written = json.loads((render / "enrich" / "enrichments" / "http_header_extractor_config.json").read_text())
    assert written["data"]["parameters"]["headersPattern"] == "[secret: not decryptable offline]"


def test_a_whole_key_set_with_secret_previews_offline_with_its_defaults_and_a_warning(tmp_path, capsys):
    stack = write_stack(tmp_path, "whole", {**BASE, "snowplow:iglu": {"secure": "v1:bm9uY2U=:Y2lwaGVy"}})
    plan = tmp_path / "plan.json"
    assert preview_cli.main(["--config", str(stack), "--json", str(plan), "--no-policy"]) == preview_cli.EXIT_OK
    err = capsys.readouterr().err
    assert "warning: snowplow:iglu is encrypted and the offline preview cannot decrypt it" in err
    resources = json.loads(plan.read_text())["resources"]
    (resolver,) = [r for r in resources if r["name"] == "enrich-service-file-iglu-resolver-json"]
    assert resolver["inputs"]["content"] == "[secret]"


def test_a_secret_key_as_the_cli_passes_it_keeps_every_rendered_value_secret(tmp_path):
    """The CLI decrypts and passes the whole key as JSON, marked secret: no plain copy may reach the plan."""
    conversion = currency(arn("fx"))["enrichments"]["currency_conversion_config"]
    enrich = {
        "enrichments": {"currency_conversion_config": conversion, "cookie_extractor_config": {"cookies": [PASSWORD]}}
    }
    collector = {"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc", "domain": "c.acme.com"}
    stack_file = StackFile(
        path=tmp_path / "Pulumi.cli.yaml",
        stack="cli",
        config={
            **{k: v if isinstance(v, str) else json.dumps(v) for k, v in BASE.items()},
            "snowplow:enrich": json.dumps(enrich),
            "snowplow:collector": json.dumps(collector),
        },
        secret_keys=["snowplow:enrich", "snowplow:collector"],
    )
    run = run_program(stack_file)
    document = preview_cli.plan_document(run)
    assert PASSWORD not in json.dumps(document)
    enrich_files = {name: text for name, text in contents(run, "enrich").items() if name != "iglu_resolver.json"}
    assert set(enrich_files.values()) == {"[secret]"}
    assert set(contents(run, "collector").values()) == {"[secret]"}
    assert (
        document["outputs"]["collector_url"] == "[secret]" and document["outputs"]["enabled_enrichments"] == "[secret]"
    )
    objects = of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2")
    (cookies,) = [r for r in objects if r["name"].endswith("cookie-extractor-config-json")]
    assert PASSWORD in run.revealed_inputs[cookies["urn"]]["content"]  # the value is there, as a secret


def test_a_secret_iglu_key_stays_secret_in_the_iglu_server_and_postgres_loader_too(tmp_path):
    """Everything rendered from `iglu` is secret when it is: enrich's resolver, the Postgres loader's resolver
    (same registries), the Iglu Server's config, and `iglu_server_url` when built from `iglu.server.domain`."""
    partner = "https://iglu.private-partner.example/api"
    iglu = {
        "server": {
            "enabled": True,
            "ingressCidrs": ["198.51.100.0/24"],
            "domain": "registry.acme.example",
            "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
        },
        "registries": [{"name": "partner", "uri": partner, "apiKeySecretArn": arn("partner-key")}],
    }
    stack_file = StackFile(
        path=tmp_path / "Pulumi.cli.yaml",
        stack="cli",
        config={
            **{k: v if isinstance(v, str) else json.dumps(v) for k, v in BASE.items()},
            "snowplow:iglu": json.dumps(iglu),
            "snowplow:destinations": json.dumps({"postgres": {"enabled": True}}),
        },
        secret_keys=["snowplow:iglu"],
    )
    run = run_program(stack_file)
    document = preview_cli.plan_document(run)
    assert partner not in json.dumps(document) and "registry.acme.example" not in json.dumps(document["outputs"])
    assert contents(run, "postgres-loader")["iglu_resolver.json"] == "[secret]"
    assert contents(run, "iglu-server")["iglu-server.hocon"] == "[secret]"
    assert document["outputs"]["iglu_server_url"] == "[secret]"
    # What is not rendered from `iglu` stays readable.
    assert contents(run, "postgres-loader")["postgres-loader.hocon"] != "[secret]"
    assert document["outputs"]["iglu_write_key_secret_arn"] != "[secret]"


def test_secure_values_of_keys_that_cannot_be_secret_stop_the_preview(tmp_path, capsys):
    stack = write_stack(tmp_path, "s", {**BASE, "snowplow:tags": {"owner": {"secure": "v1:bm9uY2U=:Y2lwaGVy"}}})
    assert preview_cli.main(["--config", str(stack), "--no-policy"]) == preview_cli.EXIT_CONFIG
    assert "snowplow:tags: was set with --secret" in capsys.readouterr().err


def test_an_undecryptable_leaf_that_fails_its_check_says_why(tmp_path, capsys):
    registry = {"name": "acme", "uri": {"secure": "v1:bm9uY2U=:Y2lwaGVy"}}
    stack = write_stack(tmp_path, "s", {**BASE, "snowplow:iglu": {"registries": [registry]}})
    assert preview_cli.main(["--config", str(stack), "--no-policy"]) == preview_cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "snowplow:iglu.registries[0].uri:" in err and "the offline preview cannot decrypt it" in err
    assert "(got [secret])" in err


# --- the same account, region and key rules, checked on parsed config alone (no program run) -----------------


def secret_problems(raw: dict) -> list[str]:
    try:
        check_secret_arns(parse({**GOOD, **raw}, "eu-west-1", "snowplow", "t"), ACCOUNT)
    except ConfigError as err:
        return err.problems
    return []


CURRENCY_KEY = "snowplow:enrich.enrichments.currency_conversion_config.apiKeySecretArn"


def test_secrets_of_the_stacks_account_and_region_need_no_allowlist_or_key():
    assert secret_problems({"enrich": currency(arn("fx"))}) == []
    assert secret_problems({"enrich": currency(arn("fx")), "secrets": {"kmsKeyArns": [kms_key()]}}) == []


@pytest.mark.parametrize(
    "secret,reason",
    [
        (arn("fx", account=OTHER_ACCOUNT), f"its account is not the stack's account {ACCOUNT}"),
        (arn("fx", region="us-east-1"), "its region is not the stack's region eu-west-1"),
        (
            arn("fx", region="us-east-1", account=OTHER_ACCOUNT),
            f"its region is not the stack's region eu-west-1 and its account is not the stack's account {ACCOUNT}",
        ),
    ],
)
def test_a_foreign_secret_needs_the_allowlist_and_its_value_stays_masked(secret, reason):
    (line,) = secret_problems({"enrich": currency(secret)})
    assert line == (
        f"{CURRENCY_KEY}: must name a secret in the stack's own account and region, or one listed in "
        f"snowplow:secrets.allowedArns; {reason} (got [secret])"
    )


def test_an_allowlisted_secret_of_another_account_needs_that_accounts_key_listed():
    shared = arn("fx", account=OTHER_ACCOUNT, region="us-east-1")
    (line,) = secret_problems({"enrich": currency(shared), "secrets": {"allowedArns": [shared]}})
    assert line == (
        f"{CURRENCY_KEY}: a secret of account {OTHER_ACCOUNT} is read across accounts, which Secrets Manager allows "
        "only when a customer-managed key of that account encrypts it and the reader may decrypt with it: list that "
        f"key (arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/<id>) in snowplow:secrets.kmsKeyArns (got [secret])"
    )
    keyed = {"allowedArns": [shared], "kmsKeyArns": [kms_key("us-east-1", OTHER_ACCOUNT)]}
    assert secret_problems({"enrich": currency(shared), "secrets": keyed}) == []
    same_account = arn("fx", region="us-east-1")  # another region of the stack's own account: no key needed
    assert secret_problems({"enrich": currency(same_account), "secrets": {"allowedArns": [same_account]}}) == []


def test_a_listed_key_that_encrypts_no_referenced_secret_is_named_by_its_index():
    secrets = {"kmsKeyArns": [kms_key(), kms_key("us-east-1")]}
    (line,) = secret_problems({"enrich": currency(arn("fx")), "secrets": secrets})
    assert line == (
        f"snowplow:secrets.kmsKeyArns[1]: no *SecretArn key names a secret in its account and region ({ACCOUNT}, "
        "us-east-1), so no instance would decrypt with it: remove it (got [secret])"
    )


# --- what an error message may show of a value (Secrecy) --------------------------------------------------------


def test_a_shown_value_masks_secret_like_keys_and_undecryptable_leaves_and_keeps_the_rest_readable():
    shown = Secrecy().show({"user": "loader", "password": "hunter22", "host": UNDECRYPTED}, ("destinations",))
    assert shown == '{"user": "loader", "password": "[secret]", "host": "[secret]"}'
    assert Secrecy().show("café", ("tags", "owner")) == '"café"'  # as typed, not as a \\u escape
    assert Secrecy().show({"at": date(2026, 1, 1)}, ("x",)) == '{"at": "2026-01-01"}'


def test_a_shown_value_is_cut_after_200_characters_and_says_how_long_it_was():
    exactly = "a" * 198  # 200 characters with its quotes
    assert Secrecy().show(exactly, ("x",)) == f'"{exactly}"'
    longer = exactly + "b"
    assert Secrecy().show(longer, ("x",)) == f'"{longer}'[:200] + "... (201 characters)"


def test_text_of_a_secret_key_is_scrubbed_from_messages_at_any_depth():
    secrecy = Secrecy(frozenset({"enrich"}), {"enrich": {"hosts": ["db.internal.example"]}})
    assert secrecy.scrub("snowplow:x: cannot reach db.internal.example") == "snowplow:x: cannot reach [secret]"


def test_the_namespace_is_read_from_the_sdk_store_and_the_cli_environment_alike(monkeypatch):
    """Mocks and the automation API fill the SDK's store; the CLI's language host passes PULUMI_CONFIG."""
    store = {"snowplow:environment": "dev", "snowplow:collector": '{"size": {"minSize": 2}}', "aws:region": "x"}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"snowplow:tags": '{"owner": "data"}', "other:tags": "{}"}))
    monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)

    def read():
        runtime_config.set_all_config(store, ["snowplow:collector", "aws:region"])
        return raw_namespace(), secret_namespace_keys()

    raw, secret = contextvars.copy_context().run(read)
    assert raw == {"collector": {"size": {"minSize": 2}}, "environment": "dev", "tags": {"owner": "data"}}
    assert list(raw) == ["collector", "environment", "tags"]
    assert secret == frozenset({"collector"})


def test_preflight_gets_each_referenced_secret_once_with_every_key_that_names_it_sorted_by_arn():
    registry = {"name": "acme", "uri": "https://iglu.example.com/api", "apiKeySecretArn": arn("iglu")}
    raw = {"enrich": currency(arn("zz-fx")), "iglu": {"registries": [registry, {**registry, "name": "acme-2"}]}}
    config = parse({**GOOD, **raw}, "eu-west-1", "snowplow", "t").config
    found = referenced_secrets(config)
    assert found == {
        arn("zz-fx"): [CURRENCY_KEY],
        arn("iglu"): ["snowplow:iglu.registries[0].apiKeySecretArn", "snowplow:iglu.registries[1].apiKeySecretArn"],
    }
    assert list(found) == [arn("iglu"), arn("zz-fx")]  # the config names zz-fx first


def test_scrub_masks_every_secret_text_in_each_spelling_a_message_may_quote_it_in():
    raw = {
        "tags": {"owner": "plain-text"},
        "destinations": {"x": {"password": "hunter22", "tokens": ["tok-1234"], "apiSecret": {"inner-name": "deep-v"}}},
    }
    secrecy = Secrecy(frozenset(), raw)
    assert secrecy.scrub("snowplow:k: plain-text hunter22 tok-1234 inner-name deep-v") == (
        "snowplow:k: plain-text [secret] [secret] [secret] [secret]"
    )
    quoted = Secrecy(frozenset(), {"x": {"password": 'pa"ss\x01word'}})
    as_json, as_repr = json.dumps('pa"ss\x01word')[1:-1], repr('pa"ss\x01word')[1:-1]
    assert quoted.scrub(f"snowplow:k: {as_json} / {as_repr}") == "snowplow:k: [secret] / [secret]"
    # longest first, so a secret holding another is masked whole; texts under 4 characters are left alone
    nested = Secrecy(frozenset(), {"x": {"password": "abcdef", "token": "bcde", "salt": "xyz"}})
    assert nested.scrub("snowplow:k: abcdef bcde xyz") == "snowplow:k: [secret] [secret] xyz"
    assert Secrecy(frozenset(), {"x": {"password": "abcd"}}).scrub("snowplow:k: abcd") == "snowplow:k: [secret]"
    assert Secrecy(frozenset({"enrich"})).scrub("snowplow:enrich: no raw values") == "snowplow:enrich: no raw values"


def test_every_key_that_cannot_be_secret_is_named_with_the_keys_that_can():
    raw = {**GOOD, "tags": {"owner": "x"}, "network": {"create": {"azs": 2}}}
    with pytest.raises(ConfigError) as caught:
        parse(raw, "eu-west-1", "snowplow", "t", secret_keys=frozenset({"tags", "network"}))
    assert caught.value.problems == [
        f"snowplow:{key}: was set with --secret, but its values become plain resource properties (names, sizes, "
        "CIDRs, tags) that --secret cannot hide; only collector, enrich, iglu, destinationSecrets may be secret: set "
        "it without --secret (got [secret])"
        for key in ("tags", "network")
    ]

"""The pack as a whole: analyzer metadata, config files and levels, the driver's report and formatting."""

import json
import re
import textwrap

import pytest
import yaml
from google.protobuf import json_format

from offline.policy import (
    PolicyPackError,
    PolicyPackProcess,
    analyzer_pb2,
    format_violations,
    load_policy_config,
    mandatory_violations,
    run_policy_pack,
)
from tests import readme_rules
from tests.policy_helpers import (
    DEV_CONFIG,
    KEY_ARN,
    PACK_DIR,
    PROD_CONFIG,
    PROJECT,
    QUEUE,
    ROLE,
    ROLE_POLICY,
    SECRET,
    STACK,
    TAGS,
    allow,
    child_of,
    good_alb_set,
    good_asg,
    good_bucket_set,
    good_iterator_age_alarm,
    good_key,
    good_launch_template,
    good_log_group,
    good_rds,
    good_stream,
    good_table,
    pack,  # noqa: F401  (session fixture)
    policy_document,
    resource,
    run,
    secret,
)

NAME_STYLE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+){2,}$")

# Policies whose behaviour depends on a threshold or list: they must expose a config schema.
THRESHOLD_POLICIES = {
    "ec2-compute-restrict-instance-types",
    "autoscaling-group-limit-size",
    "kinesis-stream-limit-shard-count",
    "kinesis-stream-restrict-on-demand",
    "rds-instance-restrict-instance-class",
    "rds-instance-limit-storage",
    "cloudwatch-log-group-bound-retention",
    "rds-database-require-backup-retention",
    "kinesis-stream-require-min-retention",
    "kms-key-require-deletion-window",
    "aws-resource-require-tags",
    "lb-listener-require-modern-tls",
    "iam-policy-forbid-wildcard-resources",
    "ec2-security-group-restrict-public-ingress",
    "cloudwatch-log-group-require-kms",
    "kms-key-require-rotation",
}
SIZING = {
    "ec2-compute-restrict-instance-types",
    "autoscaling-group-limit-size",
    "kinesis-stream-limit-shard-count",
    "kinesis-stream-restrict-on-demand",
    "rds-instance-restrict-instance-class",
    "rds-instance-limit-storage",
    "cloudwatch-log-group-bound-retention",
    "kinesis-stream-cover-peak",
}
# Security/encryption rules that are deliberately advisory somewhere (documented in policies/RULES.md).
SECURITY_EXCEPTIONS = {
    "cloudwatch-log-group-require-kms",
    "lb-listener-require-https-redirect",
    "ec2-user-data-forbid-plaintext-secrets",
    "lb-load-balancer-require-access-logs",
}


def policy_infos(pack):
    return {p.name: p for p in pack.info.policies}


def schema_of(info):
    return json_format.MessageToDict(info.configSchema).get("properties", {})


# --- Analyzer metadata -----------------------------------------------------------------------


def test_pack_answers_analyzer_info(pack):
    info = pack.info
    assert info.name == "snowplow-guardrails"
    assert info.supportsConfig and info.description
    assert len(info.policies) >= 30
    assert len({p.name for p in info.policies}) == len(info.policies)


def test_every_policy_has_description_and_style_name(pack):
    for policy in pack.info.policies:
        assert policy.description.strip(), policy.name
        assert NAME_STYLE.match(policy.name), policy.name


def test_threshold_policies_have_config_schema(pack):
    infos = policy_infos(pack)
    for name in THRESHOLD_POLICIES:
        properties = schema_of(infos[name])
        assert properties, name
        for prop, schema in properties.items():
            assert {"type", "default", "description"} <= set(schema), (name, prop)


def test_both_policy_types_are_present(pack):
    kinds = {p.policy_type for p in pack.info.policies}
    assert kinds == {analyzer_pb2.POLICY_TYPE_RESOURCE, analyzer_pb2.POLICY_TYPE_STACK}


def test_pack_files(pack):
    manifest = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert manifest["version"] == pack.version == "0.3.0" and manifest["description"]
    requirements = (PACK_DIR / "requirements.txt").read_text()
    for pin in ("pulumi-policy==1.21.0", "pulumi==3.272.0", "protobuf==", "grpcio=="):
        assert pin in requirements
    main = (PACK_DIR / "__main__.py").read_text()
    assert "def " not in main, "__main__.py only assembles the PolicyPack"


# --- Config files ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [DEV_CONFIG, PROD_CONFIG], ids=["dev", "prod"])
def test_config_file_names_every_policy_and_validates(pack, path):
    entries = json.loads(path.read_text())
    names = {p.name for p in pack.info.policies}
    assert set(entries) == names
    complete = pack.complete_config(path)  # raises on schema violations
    infos = policy_infos(pack)
    for name, (level, props) in complete.items():
        assert level in ("advisory", "mandatory", "disabled")
        assert set(props) <= set(schema_of(infos[name])), name


def test_levels_per_environment(pack):
    dev, prod = pack.complete_config(DEV_CONFIG), pack.complete_config(PROD_CONFIG)
    for name in SIZING:
        assert (dev[name][0], prod[name][0]) == ("advisory", "mandatory"), name
    defaults = {p.name: p.enforcementLevel for p in pack.info.policies}
    for name, level in defaults.items():
        if level == analyzer_pb2.MANDATORY and name not in SECURITY_EXCEPTIONS:
            assert dev[name][0] == prod[name][0] == "mandatory", name
    assert all(level != "disabled" for level, _ in prod.values())


def test_config_defaults_are_filled_in(pack):
    complete = pack.complete_config(None)
    assert complete["kinesis-stream-limit-shard-count"] == ("advisory", {"maxShards": 8})
    assert complete["kinesis-stream-require-kms"][0] == "mandatory"


def test_invalid_config_is_rejected(pack):
    with pytest.raises(PolicyPackError, match="maxShards"):
        pack.complete_config({"kinesis-stream-limit-shard-count": {"maxShards": "lots"}})
    with pytest.raises(PolicyPackError, match="not one of"):
        load_policy_config({"kinesis-stream-limit-shard-count": "strict"})


# --- A compliant Snowplow-like stack ---------------------------------------------------------


def compliant_stack():
    raw = good_stream("raw", shards=2)
    role = resource(
        ROLE,
        "enrich-role",
        {
            "assumeRolePolicy": policy_document(
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ),
            "tags": TAGS,
        },
    )
    role_policy = child_of(
        role,
        ROLE_POLICY,
        "enrich-policy",
        {
            "role": "x",
            "policy": policy_document(
                allow(
                    ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream"],
                    "arn:aws:kinesis:eu-west-1:111122223333:stream/snowplow-test-raw",
                ),
                allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY_ARN),
                allow(["cloudwatch:PutMetricData", "ec2:DescribeTags", "kinesis:ListStreams"], "*"),
            ),
        },
        prop="role",
    )
    return [
        *good_bucket_set("data"),
        *good_alb_set("collector"),
        raw,
        good_stream("enriched", shards=2),
        good_launch_template("enrich-lt"),
        good_asg("enrich-asg", max_size=2, kcl_app="snowplow-test-enrich", stream=raw["inputs"]["name"]),
        good_table("snowplow-test-enrich"),
        good_rds("iglu-db"),
        good_key("stack-key"),
        good_log_group("enrich"),
        role,
        role_policy,
        resource(SECRET, "iglu-api-key", {"kmsKeyId": KEY_ARN, "tags": TAGS}),
        resource(QUEUE, "rs-loader", {"fifoQueue": True, "kmsMasterKeyId": KEY_ARN, "tags": TAGS}),
        resource("snowplow:pipeline:Streams", "streams", {}, custom=False),
        good_iterator_age_alarm(raw["inputs"]["name"]),
    ]


def test_compliant_stack_is_clean_in_prod(pack):
    report = run(pack, compliant_stack(), PROD_CONFIG)
    assert report["violations"] == [], format_violations(report)


def test_compliant_stack_has_no_mandatory_violation_in_dev(pack):
    report = run(pack, compliant_stack(), DEV_CONFIG)
    assert mandatory_violations(report) == [], format_violations(report)


# --- Report and formatting -------------------------------------------------------------------


def test_report_shape_and_formatting(pack):
    stream = good_stream(shards=50, encryptionType="NONE")
    report = run(pack, [stream], DEV_CONFIG)
    assert (report["pack"], report["version"], report["policies"]) == (
        "snowplow-guardrails",
        "0.3.0",
        len(pack.info.policies),
    )
    by_policy = {v["policy"]: v for v in report["violations"]}
    assert by_policy["kinesis-stream-require-kms"]["enforcementLevel"] == "mandatory"
    assert by_policy["kinesis-stream-limit-shard-count"]["enforcementLevel"] == "advisory"
    assert by_policy["kinesis-stream-require-kms"]["urn"] == stream["urn"]
    text = format_violations(report)
    assert text.splitlines()[:2] == ["Policies:", "    ❌ snowplow-guardrails@v0.3.0 (local: policies)"]
    assert f"        - [mandatory]  kinesis-stream-require-kms  ({stream['urn']})" in text
    assert "          Kinesis streams are encrypted with KMS." in text
    lines = text.splitlines()
    assert lines.index(next(line for line in lines if "[mandatory]" in line)) < lines.index(
        next(line for line in lines if "[advisory]" in line)
    ), "mandatory violations are listed first"


def test_clean_report_formatting():
    report = {"pack": "p", "version": "1.0.0", "policies": 1, "violations": []}
    assert format_violations(report) == "Policies:\n    ✅ p@v1.0.0 (local: policies)"


def test_not_applicable_key_only_when_needed(pack):
    assert "notApplicable" not in run(pack, [good_stream()])


# --- One-shot driver and process handling ----------------------------------------------------


def test_run_policy_pack_one_shot(tmp_path):
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"all": "advisory", "kinesis-stream-require-kms": {"enforcementLevel": "mandatory"}}))
    report = run_policy_pack([good_stream(encryptionType="NONE", tags=None)], STACK, PROJECT, config)
    levels = {v["policy"]: v["enforcementLevel"] for v in report["violations"]}
    assert levels == {"kinesis-stream-require-kms": "mandatory", "aws-resource-require-tags": "advisory"}


def test_pack_start_failure_is_reported_and_cleaned_up(tmp_path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (tmp_path / "__main__.py").write_text(
        textwrap.dedent("""\
        raise RuntimeError("boom in pack")
    """)
    )
    process = PolicyPackProcess(tmp_path)
    with pytest.raises(PolicyPackError, match="boom in pack"):
        process.start()
    assert not process.running


def test_a_warmed_up_pack_gives_the_cold_verdict(tmp_path):
    """`make preview` starts the pack while the program runs; the report is the one a cold start gives."""
    config = {"kinesis-stream-require-kms": {"enforcementLevel": "mandatory"}}
    resources = [good_stream(encryptionType="NONE", tags=None)]
    with PolicyPackProcess(stack=STACK, project=PROJECT) as cold:
        expected = cold.run(resources, config)
    with PolicyPackProcess(stack=STACK, project=PROJECT).warm_up(config) as warm:
        assert warm.run(resources, config) == expected
    assert any(v["enforcementLevel"] == "mandatory" for v in expected["violations"])


def test_streamed_answers_under_another_config_are_asked_again():
    """Resources streamed while the pack had one config are analysed again when the run uses another."""
    lenient = {"kinesis-stream-require-kms": "advisory"}
    strict = {"kinesis-stream-require-kms": {"enforcementLevel": "mandatory"}}
    resources = [good_stream(encryptionType="NONE")]
    with PolicyPackProcess(stack=STACK, project=PROJECT) as cold:
        expected = cold.run(resources, strict)
    with PolicyPackProcess(stack=STACK, project=PROJECT).warm_up(lenient) as warm:
        submit = warm.analyze_as_registered()
        for resource in resources:
            submit(resource)
        assert warm.run(resources, strict) == expected
    assert [v["enforcementLevel"] for v in expected["violations"]] == ["mandatory"]


def test_a_pack_that_fails_while_warming_up_fails_the_run(tmp_path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (tmp_path / "__main__.py").write_text('raise RuntimeError("boom while warming up")\n')
    process = PolicyPackProcess(tmp_path).warm_up()
    with pytest.raises(PolicyPackError, match="boom while warming up"):
        process.run([good_stream()])
    process.close()
    assert not process.running


def test_crashing_policy_surfaces_as_error(tmp_path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (tmp_path / "__main__.py").write_text(
        textwrap.dedent("""\
        from pulumi_policy import PolicyPack, ResourceValidationPolicy

        def crash(args, report_violation):
            raise ValueError("policy bug")

        PolicyPack(name="crashy", policies=[ResourceValidationPolicy(name="crash", description="d", validate=crash)])
    """)
    )
    with PolicyPackProcess(tmp_path) as process:
        with pytest.raises(PolicyPackError, match="policy bug"):
            process.run([good_stream()])
        assert process.running
    assert not process.running, "the pack process was stopped"


def test_readme_rule_table_matches_pack_and_configs(pack):
    """Each rule's README row is what tests/readme_rules.py renders: levels, kind, description and config."""
    lines = set((PACK_DIR.parent / "README.md").read_text().splitlines())
    for name, row in readme_rules.rows(pack).items():
        assert row in lines, f"README row of {name} is stale; regenerate with: python -m tests.readme_rules\n{row}"
    assert f"with {len(pack.info.policies)} rules" in (PACK_DIR.parent / "README.md").read_text()


def test_secrets_in_inputs_are_unwrapped(pack):
    rds = good_rds(password=secret("hunter2"), publiclyAccessible=secret(True))
    report = run(pack, [rds], PROD_CONFIG)
    assert [v["policy"] for v in report["violations"]] == ["rds-database-forbid-public-access"]


def test_non_custom_resources_are_not_analyzed(pack):
    component = resource("snowplow:pipeline:Streams", "streams", {"tags": {}}, custom=False)
    assert run(pack, [component])["violations"] == []

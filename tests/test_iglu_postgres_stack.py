"""The Iglu Server and the Postgres destination in whole stacks: wiring, keys, secrets and databases.

`tests/stacks/Pulumi.full.yaml` is prod with every feature (dedicated events database); the dev stack here
shares the Iglu Server's instance and serves it over plain HTTP.
"""

import base64
import json
import re
import uuid

import pytest
from pyhocon import ConfigFactory

from offline import preview as preview_cli
from offline.engine import StackFile, run_program
from offline.mocks import _digest
from offline.preview import plan_document
from tests.conftest import BASE, ROOT, of_type, write_stack

FULL = ROOT / "tests" / "stacks" / "Pulumi.full.yaml"
PLACEHOLDER = re.compile(r"\{\{resolve:secretsmanager:([^}]+)\}\}")
INSTANCE = "aws:rds/instance:Instance"
SECRET = "aws:secretsmanager/secret:Secret"


@pytest.fixture(scope="module")
def full():
    return run_program(StackFile.read(FULL))


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    config = {
        **BASE,
        "snowplow:iglu": {"server": {"enabled": True, "ingressCidrs": ["198.51.100.0/24"]}},
        "snowplow:destinations": {"postgres": {"enabled": True}},
    }
    return run_program(StackFile.read(write_stack(tmp_path_factory.mktemp("shared"), "shared", config)))


def named(run, type_token: str, name: str) -> dict:
    (found,) = [r for r in of_type(run, type_token) if r["name"] == name]
    return found


def files_of(run, app: str) -> dict[str, str]:
    return {
        r["inputs"]["metadata"]["snowplow-file"]: r["inputs"]["content"]
        for r in of_type(run, "aws:s3/bucketObjectv2:BucketObjectv2")
        if r["inputs"]["metadata"]["snowplow-app"] == app
    }


def secret_arn(run, name: str) -> str:
    secret = named(run, SECRET, name)
    return f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{secret['inputs']['name']}-AbCdEf"


def policy(run, app: str) -> dict[str, dict]:
    document = json.loads(named(run, "aws:iam/rolePolicy:RolePolicy", f"{app}-service-policy")["inputs"]["policy"])
    return {s["Sid"]: s for s in document["Statement"]}


def user_data(run, app: str) -> str:
    template = named(run, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-service-lt")
    return base64.b64decode(template["inputs"]["userData"]).decode()


def generated_secret_values(run) -> list[str]:
    """What the mocks answered for every pulumi-random resource: the values no plan may show."""
    values = []
    for resource in run.resources:
        seed = _digest(resource["type"], resource["name"])
        if resource["type"] == "random:index/randomPassword:RandomPassword":
            values.append(f"mock{seed[:36]}")
        elif resource["type"] == "random:index/randomUuid:RandomUuid":
            values.append(str(uuid.UUID(seed[32:64])))
    return values


def test_full_stack_previews_through_the_pack_without_mandatory_violations(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    assert preview_cli.main(["--config", str(FULL), "--json", str(plan)]) == preview_cli.EXIT_OK
    violations = json.loads(plan.read_text())["policy"]["violations"]
    assert [v for v in violations if v["enforcementLevel"] == "mandatory"] == []


def test_iglu_server_config_points_at_its_own_database_with_placeholders(full):
    config = ConfigFactory.parse_string(files_of(full, "iglu-server")["iglu-server.hocon"])
    db = named(full, INSTANCE, "iglu-db")["inputs"]
    assert (config["database.dbname"], config["database.username"]) == (db["dbName"], db["username"])
    assert config["database.host"].startswith(db["identifier"] + ".")
    assert PLACEHOLDER.fullmatch(config["database.password"])[1] == secret_arn(full, "iglu-db-master-password")
    assert PLACEHOLDER.fullmatch(config["superApiKey"])[1] == secret_arn(full, "iglu-server-super-api-key")
    assert config["debug"] is False and config["patchesAllowed"] is False


def test_iglu_server_boots_setup_first_and_keys_after_health(full):
    script = user_data(full, "iglu-server")
    assert "setup --config /snowplow/config/iglu-server.hocon" in script  # pre-start, before the server runs
    assert "HEALTH_URL=http://127.0.0.1:8080/api/meta/health" in script
    assert 'python3 "$CONFIG_DIR/iglu_keys.py" --settings "$CONFIG_DIR/iglu-keys.json"' in script
    assert 'bash "$CONFIG_DIR/postgres-bootstrap.sh"' in script
    group = named(full, "aws:autoscaling/group:Group", "iglu-server-service-asg")["inputs"]
    assert group["healthCheckType"] == "ELB" and (group["minSize"], group["maxSize"]) == (2, 2)
    target = named(full, "aws:lb/targetGroup:TargetGroup", "iglu-server-tg")["inputs"]
    assert target["healthCheck"]["path"] == "/api/meta/health" and target["port"] == 8080


def test_iglu_load_balancer_is_https_with_an_allowlist_and_the_stacks_nat_ips(full):
    listeners = {
        r["inputs"]["port"]: r["inputs"]
        for r in of_type(full, "aws:lb/listener:Listener")
        if r["name"].startswith("iglu-server-")
    }
    assert listeners[443]["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners[80]["defaultActions"][0]["type"] == "redirect"
    alb = named(full, "aws:lb/loadBalancer:LoadBalancer", "iglu-server-alb")["inputs"]
    assert alb["dropInvalidHeaderFields"] is True and alb["accessLogs"]["enabled"] is True
    sources = {
        r["inputs"]["cidrIpv4"]
        for r in of_type(full, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith("iglu-server-alb-in-443-")
    }
    nat_gateways = of_type(full, "aws:ec2/eip:Eip")
    assert len(sources) == 1 + len(nat_gateways) == 4  # the operators' CIDR and one /32 per NAT gateway
    assert "203.0.113.0/24" in sources and all(s.endswith("/32") for s in sources - {"203.0.113.0/24"})
    assert full.outputs["iglu_server_url"] == "https://schemas-registry.acme.example"


def test_enrich_and_loader_read_with_the_read_key_never_the_super_key(full):
    read = secret_arn(full, "iglu-server-read-key")
    restricted = {secret_arn(full, "iglu-server-super-api-key"), secret_arn(full, "iglu-server-write-key")}
    for app, resolver in (("enrich", "iglu_resolver.json"), ("postgres-loader", "iglu_resolver.json")):
        document = json.loads(files_of(full, app)[resolver])
        (own,) = [r for r in document["data"]["repositories"] if r["name"] == "Iglu Server (this stack)"]
        assert own["connection"]["http"]["uri"] == "https://schemas-registry.acme.example/api"
        assert PLACEHOLDER.fullmatch(own["connection"]["http"]["apikey"])[1] == read
        readable = set(policy(full, app)["ReadReferencedSecrets"]["Resource"])
        assert read in readable and not readable & restricted
    iglu = policy(full, "iglu-server")
    assert restricted <= set(iglu["ReadReferencedSecrets"]["Resource"])
    assert set(iglu["StoreGeneratedIgluKeys"]["Resource"]) == {read, secret_arn(full, "iglu-server-write-key")}
    assert (
        named(full, SECRET, "iglu-server-read-key")["inputs"]["name"]
        != named(full, SECRET, "iglu-server-super-api-key")["inputs"]["name"]
    )
    # The read and write keys have no version in the plan: the server generates them at first boot.
    versions = {r["name"] for r in of_type(full, "aws:secretsmanager/secretVersion:SecretVersion")}
    assert "iglu-server-read-key" not in versions and "iglu-server-write-key" not in versions


def test_the_partners_key_is_granted_to_its_readers_for_its_secret_only(full):
    """The partner registry's read key lives in another account, encrypted with the partner's key: enrich and the
    Postgres loader (which both resolve through that registry) may decrypt with it, for that secret only."""
    partner = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:partner/iglu-read-key-AbCdEf"
    partner_key = "arn:aws:kms:eu-west-1:210987654321:key/0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b"
    for app in ("enrich", "postgres-loader"):
        grant = policy(full, app)["SecretKeysDecryptReferencedSecrets"]
        assert grant["Resource"] == [partner_key] and grant["Action"] == ["kms:Decrypt"]
        assert grant["Condition"]["StringEquals"] == {
            "kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com"],
            "kms:EncryptionContext:SecretARN": [partner],
        }
    for app in ("collector", "iglu-server", "s3-loader-enriched", "s3-loader-bad"):
        assert "SecretKeysDecryptReferencedSecrets" not in policy(full, app)


def test_postgres_loader_is_wired_to_enriched_bad_2_its_lease_table_and_its_role(full):
    config = ConfigFactory.parse_string(files_of(full, "postgres-loader")["postgres-loader.hocon"])
    assert config["input.streamName"] == "snowplow-full-enriched"
    assert config["input.retrievalMode"] == {"type": "Polling", "maxRecords": 10000}
    assert config["output.bad.streamName"] == "snowplow-full-bad-2" and config["purpose"] == "ENRICHED_EVENTS"
    table = named(full, "aws:dynamodb/table:Table", "postgres-loader-leases")
    assert table["inputs"]["name"] == config["input.appName"] == "snowplow-full-postgres-loader"
    assert table["inputs"]["pointInTimeRecovery"]["enabled"] is True and table["protect"]
    events = named(full, INSTANCE, "events-db")["inputs"]
    good = config["output.good"]
    assert good["host"].startswith(events["identifier"] + ".")
    assert (good["database"], good["schema"], good["username"]) == ("snowplow", "atomic", "snowplow_loader")
    assert good["username"] != events["username"]  # never the master user
    assert PLACEHOLDER.fullmatch(good["password"])[1] == secret_arn(full, "events-db-postgres-loader-password")
    bootstrap = files_of(full, "iglu-server")["postgres-bootstrap.sh"]
    assert f"bootstrap {good['host']} 5432 snowplow_admin" in bootstrap and "snowplow_loader" in bootstrap
    assert "CONTAINER_USER=1" in user_data(full, "postgres-loader")  # `daemon` in the loader's image


def test_every_database_is_private_encrypted_with_the_stack_key_and_protected_in_prod(full):
    key = full.outputs["kms_key_arn"]
    instances = of_type(full, INSTANCE)
    assert {i["name"] for i in instances} == {"iglu-db", "events-db"}
    for instance in instances:
        inputs = instance["inputs"]
        assert inputs["publiclyAccessible"] is False
        assert inputs["storageEncrypted"] is True and inputs["kmsKeyId"] == key
        assert inputs["storageType"] == "gp3" and inputs["engineVersion"] == "16"
        assert inputs["performanceInsightsEnabled"] is True and inputs["performanceInsightsKmsKeyId"] == key
        assert inputs["multiAz"] is True and inputs["deletionProtection"] is True
        assert inputs["backupRetentionPeriod"] >= 7 and inputs["skipFinalSnapshot"] is False
        assert instance["protect"] and instance["retainOnDelete"]
        assert inputs["password"] == "[secret]"
        params = named(full, "aws:rds/parameterGroup:ParameterGroup", f"{instance['name']}-params")["inputs"]
        assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"} in params["parameters"]
        subnets = named(full, "aws:rds/subnetGroup:SubnetGroup", f"{instance['name']}-subnets")["inputs"]
        assert subnets["subnetIds"] == full.outputs["private_subnet_ids"]
    for log_group in of_type(full, "aws:cloudwatch/logGroup:LogGroup"):
        if log_group["inputs"]["name"].startswith("/aws/rds/"):
            assert log_group["inputs"]["kmsKeyId"] == key
    for secret in of_type(full, SECRET):
        assert secret["inputs"]["kmsKeyId"] == key and secret["protect"]


def test_databases_admit_only_the_apps_that_use_them(full):
    rules = [
        r
        for r in of_type(full, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith(("iglu-db-", "events-db-"))
    ]
    assert sorted(r["name"] for r in rules) == [
        "events-db-from-iglu-server",  # it prepares the loader's role, database and schema
        "events-db-from-modeling",  # the scheduled dbt task (modeling.enabled in the full stack)
        "events-db-from-postgres-loader",
        "iglu-db-from-iglu-server",
    ]
    for rule in rules:
        assert rule["inputs"]["fromPort"] == rule["inputs"]["toPort"] == 5432
        assert "referencedSecurityGroupId" in rule["inputs"] and "cidrIpv4" not in rule["inputs"]


def test_no_generated_secret_appears_in_files_user_data_outputs_or_inputs(full, shared):
    for run in (full, shared):
        values = generated_secret_values(run)
        assert len(values) >= 3
        document = json.dumps(plan_document(run))
        scripts = "".join(
            base64.b64decode(t["inputs"]["userData"]).decode()
            for t in of_type(run, "aws:ec2/launchTemplate:LaunchTemplate")
        )
        for value in values:
            assert value not in document and value not in scripts and value not in json.dumps(run.outputs)
        # A secret Output flowing into a file would be masked in the plan; none may: files hold placeholders.
        for app in ("iglu-server", "postgres-loader", "enrich"):
            assert "[secret]" not in files_of(run, app).values(), app
            assert (
                named(run, "aws:ec2/launchTemplate:LaunchTemplate", f"{app}-service-lt")["inputs"]["userData"]
                != "[secret]"
            )


def test_outputs_give_addresses_and_secret_arns_not_secrets(full):
    destination = full.outputs["postgres_destination"]
    assert set(destination) == {"host", "port", "database", "schema", "username", "passwordSecretArn"}
    assert destination["passwordSecretArn"] == secret_arn(full, "events-db-postgres-loader-password")
    assert full.outputs["iglu_write_key_secret_arn"] == secret_arn(full, "iglu-server-write-key")


def test_shared_database_hosts_the_events_on_the_iglu_instance(shared):
    assert [i["name"] for i in of_type(shared, INSTANCE)] == ["iglu-db"]
    instance = named(shared, INSTANCE, "iglu-db")
    assert instance["inputs"]["multiAz"] is False and not instance["protect"]
    # dev runs without Performance Insights, so it names no key and no retention for it
    insights = {k: v for k, v in instance["inputs"].items() if k.startswith("performanceInsights")}
    assert insights == {"performanceInsightsEnabled": False}
    good = ConfigFactory.parse_string(files_of(shared, "postgres-loader")["postgres-loader.hocon"])["output.good"]
    assert good["host"].startswith("snowplow-shared-iglu-db.") and good["database"] == "snowplow"
    assert "bootstrap snowplow-shared-iglu-db." in files_of(shared, "iglu-server")["postgres-bootstrap.sh"]


def test_plain_http_iglu_server_in_dev_gets_an_http_egress_for_its_clients(shared):
    rules = {
        r["name"]: r["inputs"]
        for r in of_type(shared, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if "-http-from-" in r["name"]
    }
    assert set(rules) == {"iglu-server-http-from-enrich", "iglu-server-http-from-postgres-loader"}
    assert all(r["fromPort"] == r["toPort"] == 80 for r in rules.values())
    assert shared.outputs["iglu_server_url"].startswith("http://snowplow-shared-iglu-server-")

"""`snowplow:iglu.server` and `snowplow:destinations`: defaults per environment, and rules naming both keys."""

import pytest
import yaml

from stack_config import ConfigError, parse
from stack_config.model import StackConfig
from tests.conftest import ROOT

DEV = {"environment": "dev", "acceptLimitedUseLicense": True}
PROD = {"environment": "prod", "acceptLimitedUseLicense": True, "network": {"create": {"azs": 2}}}
IGLU_TLS = {"domain": "iglu.example.com", "hostedZoneId": "Z0123456789EXAMPLE"}
EXISTING = {
    "vpcId": "vpc-0123456789abcdef0",
    "publicSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "privateSubnetIds": ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"],
}


def config(raw: dict):
    return parse(raw, "eu-west-1", "snowplow", "t").config


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, "eu-west-1", "snowplow", "t")
    return caught.value.problems


def test_dev_runs_no_iglu_server_and_no_postgres_by_default():
    cfg = config(DEV)
    assert cfg.iglu.server.enabled is False
    assert cfg.destinations.postgres.enabled is False


def test_prod_runs_the_iglu_server_by_default_with_a_multi_az_protected_sized_database():
    server = config({**PROD, "iglu": {"server": IGLU_TLS}}).iglu.server
    assert server.enabled and server.access_logs and server.tls
    assert (server.size.instance_type, server.size.min_size, server.size.max_size) == ("t3a.small", 2, 2)
    db = server.database
    assert (db.instance_class, db.multi_az, db.backup_retention_days, db.performance_insights) == (
        "db.t4g.small",
        True,
        7,
        True,
    )
    assert db.max_allocated_storage == 100


def test_dev_database_defaults_are_cheap():
    db = config({**DEV, "iglu": {"server": {"enabled": True}}}).iglu.server.database
    assert (db.instance_class, db.multi_az, db.backup_retention_days, db.performance_insights) == (
        "db.t4g.micro",
        False,
        1,
        False,
    )
    assert db.max_allocated_storage is None


def test_prod_iglu_server_without_tls_is_rejected_with_both_ways_out():
    [line] = problems(PROD)
    assert line.startswith("snowplow:iglu.server: prod serves the Iglu Server over HTTPS only")
    assert "set domain with hostedZoneId or certificateArn, or set enabled: false" in line
    assert config({**PROD, "iglu": {"server": {"enabled": False}}}).iglu.server.enabled is False


def test_a_certificate_needs_the_domain_it_was_issued_for():
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123"
    [line] = problems({**DEV, "iglu": {"server": {"enabled": True, "certificateArn": arn}}})
    assert "clients check the certificate against that name" in line


def test_postgres_destination_without_an_iglu_server_names_both_keys():
    [line] = problems({**DEV, "destinations": {"postgres": {"enabled": True}}})
    assert line.startswith("snowplow:destinations.postgres.enabled:")
    assert "snowplow:iglu.server.enabled: true" in line


def test_postgres_database_defaults_shared_in_dev_own_in_prod():
    dev = config({**DEV, "iglu": {"server": {"enabled": True}}, "destinations": {"postgres": {"enabled": True}}})
    prod = config({**PROD, "iglu": {"server": IGLU_TLS}, "destinations": {"postgres": {"enabled": True}}})
    assert dev.destinations.postgres.database == "shared"
    assert prod.destinations.postgres.database == "own"
    assert prod.destinations.postgres.instance.instance_class == "db.t4g.medium"
    assert prod.destinations.postgres.instance.multi_az is True


def test_instance_sizing_with_a_shared_database_is_rejected():
    [line] = problems(
        {
            **DEV,
            "iglu": {"server": {"enabled": True}},
            "destinations": {"postgres": {"enabled": True, "database": "shared", "instance": {"allocatedStorage": 50}}},
        }
    )
    assert line.startswith("snowplow:destinations.postgres: instance only applies to database: own")
    assert "snowplow:iglu.server.database" in line


def test_adopted_network_needs_the_iglu_allowlist_naming_both_keys():
    raw = {**DEV, "network": {"existing": EXISTING}, "iglu": {"server": {"enabled": True}}}
    [line] = problems(raw)
    assert line.startswith("snowplow:iglu.server.ingressCidrs:") and "snowplow:network.existing" in line
    raw["iglu"]["server"]["ingressCidrs"] = ["198.51.100.7/32"]
    assert config(raw).iglu.server.ingress_cidrs == ["198.51.100.7/32"]


def test_a_registry_entry_for_the_stacks_own_server_is_rejected():
    own = {"name": "mine", "uri": "https://iglu.example.com/api"}
    lines = problems({**PROD, "iglu": {"server": IGLU_TLS, "registries": [own]}})
    assert lines == [
        "snowplow:iglu.registries[0].uri: https://iglu.example.com/api is this stack's own Iglu Server "
        "(snowplow:iglu.server.domain); remove the entry: every resolver already reads it with a read key"
    ]


@pytest.mark.parametrize(
    "database,key,message",
    [
        ({"multiAz": False}, "multiAz", "prod databases run Multi-AZ"),
        ({"backupRetentionDays": 3}, "backupRetentionDays", "at least 7 days"),
        ({"allocatedStorage": 50, "maxAllocatedStorage": 50}, "maxAllocatedStorage", "must exceed allocatedStorage"),
        ({"allocatedStorage": 10}, "allocatedStorage", "greater than or equal to 20"),
        ({"instanceClass": "t4g.small"}, "instanceClass", "must be an RDS instance class such as db.t4g.small"),
    ],
)
def test_prod_database_rules(database, key, message):
    lines = problems({**PROD, "iglu": {"server": {**IGLU_TLS, "database": database}}})
    assert any(line.startswith(f"snowplow:iglu.server.database.{key}:") and message in line for line in lines), lines


def test_postgres_loader_never_outnumbers_enriched_shards():
    lines = problems(
        {
            **DEV,
            "iglu": {"server": {"enabled": True}},
            "destinations": {"postgres": {"enabled": True, "size": {"maxSize": 3}}},
        }
    )
    assert lines[0].startswith(
        "snowplow:destinations.postgres.size.maxSize: 3 exceeds snowplow:streams.shards.enriched"
    )


def test_the_iglu_server_cannot_share_the_collectors_domain_naming_both_keys():
    """Two load balancers cannot answer one name: the second alias record would collide at `pulumi up`."""
    collector = {"domain": "iglu.example.com", "hostedZoneId": "Z0123456789EXAMPLE"}
    [line] = problems({**PROD, "collector": collector, "iglu": {"server": IGLU_TLS}})
    assert line.startswith("snowplow:iglu.server.domain: iglu.example.com is also snowplow:collector.domain")
    # Disabled, the server's domain names nothing.
    assert config({**PROD, "collector": collector, "iglu": {"server": {**IGLU_TLS, "enabled": False}}})


@pytest.mark.parametrize(
    "raw,key",
    [
        ({"iglu": {"server": {"enabled": True, "ingressCidrs": ["203.0.113.0/24", "203.0.113.0/24"]}}}, "iglu.server"),
        ({"collector": {"ingressCidrs": ["2001:db8::/32", "2001:0db8:0::/32"]}}, "collector"),
    ],
)
def test_a_cidr_listed_twice_is_rejected_before_aws_refuses_the_duplicate_rule(raw, key):
    [line] = problems({**DEV, **raw})
    assert line.startswith(f"snowplow:{key}.ingressCidrs: ") and "listed twice" in line


def test_app_sizes_lists_each_app_the_stack_runs_with_the_key_that_sizes_it():
    """The program builds, and preflight checks the instance type of, exactly these apps."""
    plain = config(DEV)
    assert [(app, key) for app, key, _ in plain.app_sizes()] == [
        ("collector", "collector"),
        ("enrich", "enrich"),
        ("loader-enriched", "loaders.enriched"),
        ("loader-bad", "loaders.bad"),
    ]
    full = config({**DEV, "iglu": {"server": {"enabled": True}}, "destinations": {"postgres": {"enabled": True}}})
    sizes = {app: (key, size) for app, key, size in full.app_sizes()}
    assert list(sizes) == ["collector", "enrich", "loader-enriched", "loader-bad", "iglu-server", "postgres-loader"]
    assert sizes["iglu-server"] == ("iglu.server", full.iglu.server.size)
    assert sizes["postgres-loader"] == ("destinations.postgres", full.destinations.postgres.size)
    assert sizes["collector"][1] is full.collector.size and sizes["loader-bad"][1] is full.loaders.bad.size
    assert sizes["enrich"][1] is full.enrich.size and sizes["loader-enriched"][1] is full.loaders.enriched.size


@pytest.mark.parametrize(
    "key,stream,settings",
    [
        ("enrich", "raw", {"enrich": {"size": {"maxSize": 3}}}),
        ("loaders.enriched", "enriched", {"loaders": {"enriched": {"size": {"maxSize": 3}}}}),
        ("loaders.bad", "bad1", {"loaders": {"bad": {"size": {"maxSize": 3}}}}),
    ],
)
def test_a_kinesis_consumer_never_outnumbers_its_input_shards(key, stream, settings):
    streams = {"mode": "PROVISIONED", "shards": {"raw": 2, "enriched": 2, "bad1": 2}}
    assert problems({**DEV, "streams": streams, **settings}) == [
        f"snowplow:{key}.size.maxSize: 3 exceeds streams.shards.{stream} (2); a Kinesis consumer never uses more "
        "instances than its input stream has shards: raise the shards or lower maxSize"
    ]
    on_demand = config({**DEV, "streams": {"mode": "ON_DEMAND"}, **settings})
    assert on_demand.streams.mode == "ON_DEMAND"


def test_own_server_rules_name_the_keys_in_full():
    own = {"name": "Iglu Server (this stack)", "uri": "https://iglu.example.com:443/iglu/api"}
    assert problems({**PROD, "iglu": {"server": IGLU_TLS, "registries": [own]}}) == [
        "snowplow:iglu.registries[0].uri: https://iglu.example.com:443/iglu/api is this stack's own Iglu Server "
        "(snowplow:iglu.server.domain); remove the entry: every resolver already reads it with a read key",
        "snowplow:iglu.registries[0].name: 'Iglu Server (this stack)' names the stack's own Iglu Server "
        "(snowplow:iglu.server.enabled); choose another name",
    ]
    raw = {**DEV, "network": {"existing": EXISTING}, "iglu": {"server": {"enabled": True}}}
    assert problems(raw) == [
        "snowplow:iglu.server.ingressCidrs: with snowplow:network.existing the stack cannot know the public IPs "
        "through which enrich and the loaders reach the Iglu Server: list your NAT gateways' IPs (/32) and your "
        "operators' CIDRs (got [])"
    ]
    shared = {**PROD, "collector": {"domain": "iglu.example.com", "hostedZoneId": "Z0123456789EXAMPLE"}}
    assert problems({**shared, "iglu": {"server": IGLU_TLS}}) == [
        "snowplow:iglu.server.domain: iglu.example.com is also snowplow:collector.domain; each load balancer needs "
        "its own name (certificate and alias record): choose another, e.g. iglu.<your domain>"
    ]


def test_app_sizes_of_the_full_stack_name_every_destination_with_its_own_size():
    """Every destination app, in order, with the key that sizes it and that key's own size (not a neighbour's)."""
    document = yaml.safe_load((ROOT / "tests" / "stacks" / "Pulumi.full.yaml").read_text())["config"]
    raw = {k.removeprefix("snowplow:"): v for k, v in document.items() if k.startswith("snowplow:")}
    raw.pop("destinationSecrets")  # secure values; the sizes do not depend on them
    full = StackConfig.model_validate(raw, context={"environment": raw["environment"]})
    sizes = {app: (key, size) for app, key, size in full.app_sizes()}
    destinations = full.destinations
    assert sizes == {
        "collector": ("collector", full.collector.size),
        "enrich": ("enrich", full.enrich.size),
        "loader-enriched": ("loaders.enriched", full.loaders.enriched.size),
        "loader-bad": ("loaders.bad", full.loaders.bad.size),
        "iglu-server": ("iglu.server", full.iglu.server.size),
        "postgres-loader": ("destinations.postgres", destinations.postgres.size),
        "redshift-transformer": ("destinations.redshift.transformer", destinations.redshift.transformer.size),
        "redshift-loader": ("destinations.redshift.loader", destinations.redshift.loader.size),
        "snowflake-loader": ("destinations.snowflake", destinations.snowflake.size),
        "databricks-loader": ("destinations.databricks", destinations.databricks.size),
        "elasticsearch-loader": ("destinations.opensearch", destinations.opensearch.size),
        "elasticsearch-loader-bad": ("destinations.opensearch.badRows", destinations.opensearch.bad_rows.size),
    }
    assert [app for app, _, _ in full.app_sizes()][6:] == [
        "redshift-transformer",
        "redshift-loader",
        "snowflake-loader",
        "databricks-loader",
        "elasticsearch-loader",
        "elasticsearch-loader-bad",
    ]
    # the two Redshift parts and the two OpenSearch loaders are sized apart in this stack, so a swap shows
    assert destinations.redshift.transformer.size != destinations.redshift.loader.size
    assert destinations.opensearch.size != destinations.opensearch.bad_rows.size
    without_bad = {**raw, "destinations": {**raw["destinations"]}}
    without_bad["destinations"]["opensearch"] = {**raw["destinations"]["opensearch"], "badRows": {"enabled": False}}
    lean = StackConfig.model_validate(without_bad, context={"environment": raw["environment"]})
    assert "elasticsearch-loader-bad" not in [app for app, _, _ in lean.app_sizes()]


def test_the_postgres_loader_needs_the_iglu_server_and_no_more_instances_than_enriched_shards():
    assert problems({**DEV, "destinations": {"postgres": {"enabled": True}}}) == [
        "snowplow:destinations.postgres.enabled: the Postgres loader looks up every schema in an Iglu Server (0.6+), "
        "never in Iglu Central or a static registry: set snowplow:iglu.server.enabled: true (got false)"
    ]
    with_server = {**DEV, "iglu": {"server": {"enabled": True}}}
    streams = {"mode": "PROVISIONED", "shards": {"enriched": 2}}

    def postgres(max_size: int) -> dict:
        return {"destinations": {"postgres": {"enabled": True, "size": {"minSize": 1, "maxSize": max_size}}}}

    assert problems({**with_server, "streams": streams, **postgres(3)}) == [
        "snowplow:destinations.postgres.size.maxSize: 3 exceeds snowplow:streams.shards.enriched (2); a Kinesis "
        "consumer never uses more instances than its input stream has shards: raise the shards or lower maxSize"
    ]
    assert config({**with_server, "streams": streams, **postgres(2)}).destinations.postgres.size.max_size == 2


def test_only_a_registry_on_the_servers_own_host_is_refused():
    own = {"name": "ours", "uri": "https://iglu.example.com/iglu/api"}
    assert problems({**PROD, "iglu": {"server": IGLU_TLS, "registries": [own]}}) == [
        "snowplow:iglu.registries[0].uri: https://iglu.example.com/iglu/api is this stack's own Iglu Server "
        "(snowplow:iglu.server.domain); remove the entry: every resolver already reads it with a read key"
    ]
    other = {"name": "partner", "uri": "https://schemas.example.com/api"}
    assert config({**PROD, "iglu": {"server": IGLU_TLS, "registries": [other]}}).iglu.registries[0].name == "partner"

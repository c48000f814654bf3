"""Sizing from `snowplow:traffic`: shards, ASG bounds, lease tables and the NAT-or-endpoint choice, pinned on
hand-computed cases (1 MiB/s and 1,000 records/s per shard; enriched = 3x raw; throughput table in
stack_config.capacity)."""

import pytest

from stack_config import ConfigError, parse
from stack_config.apps import DEFAULT_CPU_TARGET
from stack_config.capacity import cheaper_interface_endpoints, instance_throughput, vcpus
from stack_config.model import StackConfig, consumer_types


def config(environment="prod", peak=None, **sections) -> StackConfig:
    raw = {"environment": environment, "acceptLimitedUseLicense": True, **sections}
    if peak is not None:
        raw["traffic"] = {"peakEventsPerSecond": peak, **raw.get("traffic", {})}
    if environment == "prod":
        raw.setdefault("iglu", {"server": {"enabled": False}})
    return StackConfig.model_validate(raw, context={"environment": environment})


def sizes(cfg: StackConfig) -> dict[str, tuple[str, int, int]]:
    return {app: (size.instance_type, size.min_size, size.max_size) for app, _, size in cfg.app_sizes()}


def test_throughput_per_instance_follows_the_table():
    # collector 500/vCPU: t3a.micro bursts from a 10% baseline of 2 vCPUs; c6i.large runs at the 60% CPU target
    assert instance_throughput("collector", "t3a.micro", 60) == pytest.approx(100)
    assert instance_throughput("collector", "c6i.large", 60) == pytest.approx(600)
    assert instance_throughput("enrich", "c6i.large", 60) == pytest.approx(300)
    assert instance_throughput("enrich", "c6i.2xlarge", 50) == pytest.approx(1000)
    assert instance_throughput("s3LoaderEnriched", "t3a.micro", 60) == pytest.approx(200)


def test_100_events_per_second_dev():
    cfg = config("dev", 100)
    # design 150 events/s; enrich on t3a.small carries 100 -> 2 instances at most -> raw needs 2 shards
    assert cfg.streams.shards.counts() == {"raw": 2, "enriched": 1, "bad1": 1, "bad2": 1}
    assert sizes(cfg) == {
        "collector": ("t3a.micro", 1, 2),
        "enrich": ("t3a.small", 1, 2),
        "loader-enriched": ("t3a.micro", 1, 1),
        "loader-bad": ("t3a.micro", 1, 1),
    }


def test_1000_events_per_second_prod():
    cfg = config("prod", 1_000)
    # raw: 1,500 rec/s -> 2, but enrich (300/instance) needs 5 at 1,500/s; enriched 4.5 MB/s = 4.29 MiB/s -> 5
    assert cfg.streams.shards.counts() == {"raw": 5, "enriched": 5, "bad1": 1, "bad2": 1}
    assert sizes(cfg) == {
        "collector": ("c6i.large", 2, 3),  # 600/instance: 1,000 -> 2, 1,500 -> 3
        "enrich": ("c6i.large", 4, 5),
        "loader-enriched": ("c6i.large", 1, 2),  # 1,200/instance
        "loader-bad": ("t3a.micro", 1, 1),  # 5% of events
    }


def test_10000_events_per_second_prod():
    cfg = config("prod", 10_000)
    # enriched 45 MB/s = 42.9 MiB/s -> 43; bad1 750 rec/s at 2 KB = 1.43 MiB/s -> 2, but 4 bad loaders (200/s each)
    assert cfg.streams.shards.counts() == {"raw": 50, "enriched": 43, "bad1": 4, "bad2": 1}
    assert sizes(cfg) == {
        "collector": ("c6i.large", 17, 25),
        "enrich": ("c6i.large", 34, 50),
        "loader-enriched": ("c6i.large", 9, 13),
        "loader-bad": ("t3a.micro", 3, 4),
    }


def test_event_size_drives_the_byte_limit():
    cfg = config("prod", 1_000, traffic={"averageEventBytes": 4_000, "headroom": 1.0})
    # raw 4 MB/s = 3.81 MiB/s -> 4 (enrich needs ceil(1000/300) = 4 too); enriched 12 MB/s = 11.4 MiB/s -> 12
    assert cfg.streams.shards.counts()["raw"] == 4
    assert cfg.streams.shards.counts()["enriched"] == 12


def test_explicit_values_win_and_larger_instances_need_fewer_shards():
    cfg = config("prod", 1_000, enrich={"size": {"instanceType": "c6i.2xlarge"}})
    assert cfg.enrich.size.min_size == 2 and cfg.enrich.size.max_size == 2  # 1,200/instance
    assert cfg.streams.shards.raw == 2
    cfg = config("prod", 1_000, streams={"shards": {"raw": 3}}, collector={"size": {"maxSize": 9}})
    assert cfg.streams.shards.raw == 3 and cfg.collector.size.max_size == 9
    assert cfg.enrich.size.max_size == 3  # a consumer stops at its input's shards


def test_lease_table_capacity_follows_the_shards():
    provisioned = {"leaseTable": {"billingMode": "PROVISIONED"}}
    assert config("prod", 1_000, enrich=provisioned).enrich.lease_table.read_capacity == 5  # the floor
    table = config("prod", 10_000, enrich=provisioned).enrich.lease_table
    assert (table.read_capacity, table.write_capacity) == (38, 30)  # 50 shards x 0.5 / 0.4 x 1.5
    bad = config("prod", 10_000, loaders={"bad": provisioned}).loaders.bad.lease_table
    assert (bad.read_capacity, bad.write_capacity) == (5, 5)  # bad1 has 4 shards


def parse_prod(**sections):
    raw = {"environment": "prod", "acceptLimitedUseLicense": True, "iglu": {"server": {"enabled": False}}, **sections}
    return parse(raw, "eu-west-1", "snowplow", "prod")


def test_under_provisioned_explicit_values_are_named_in_warnings():
    notes = parse_prod(
        traffic={"peakEventsPerSecond": 1_000},
        streams={"shards": {"enriched": 2}},
        collector={"size": {"instanceType": "c6i.large", "maxSize": 2}},
        loaders={"enriched": {"leaseTable": {"billingMode": "PROVISIONED", "writeCapacity": 1}}},
    ).notes
    assert any(n.startswith("snowplow:streams.shards.enriched: 2 shard(s) are fewer than the 5") for n in notes)
    assert any(n.startswith("snowplow:collector.size.maxSize: 2 x c6i.large carry about 1,200") for n in notes)
    assert any(n.startswith("snowplow:loaders.enriched.leaseTable.writeCapacity: 1") for n in notes)
    assert parse_prod(traffic={"peakEventsPerSecond": 1_000}).notes == ()


@pytest.mark.parametrize(
    ("traffic", "key"),
    [
        ({"peakEventsPerSecond": 0}, "snowplow:traffic.peakEventsPerSecond"),
        ({"averageEventBytes": 10}, "snowplow:traffic.averageEventBytes"),
        ({"headroom": 0.5}, "snowplow:traffic.headroom"),
        ({"peak": 5}, "snowplow:traffic.peak"),
    ],
)
def test_invalid_traffic_names_the_key(traffic, key):
    with pytest.raises(ConfigError) as err:
        parse_prod(traffic=traffic)
    assert any(p.startswith(key) for p in err.value.problems), err.value.problems


def test_interface_endpoint_only_where_cheaper_than_nat():
    # 100 events/s: ~2,150 GB a month to and from Kinesis saves $75 of NAT processing for $14.60 of endpoint hours
    assert config("dev", 100).network.create.interface_endpoints == ["kinesis-streams"]
    assert config("dev", 5).network.create.interface_endpoints == []
    low = config("dev", 5).capacity
    assert cheaper_interface_endpoints(low, 2) == []
    override = config("dev", 100, network={"create": {"interfaceEndpoints": ["logs"]}})
    assert override.network.create.interface_endpoints == ["logs"]


@pytest.mark.parametrize(
    "instance_type,expected",
    [
        ("t3.nano", 2),
        ("t3a.micro", 2),
        ("t3a.small", 2),
        ("t3.medium", 2),  # T-family medium: 2 vCPUs
        ("m6g.medium", 1),  # other families' medium: 1
        ("t3a.large", 2),
        ("c6i.large", 2),
        ("c6i.xlarge", 4),
        ("t3.2xlarge", 8),
        ("c6i.24xlarge", 96),
    ],
)
def test_vcpus_follow_the_size_name(instance_type, expected):
    assert vcpus(instance_type) == expected


def test_consumer_types_read_the_raw_stack_with_defaults_and_only_valid_cpu_targets():
    """The KCL consumers' instance types and CPU targets, read before validation to size their lease tables."""

    def consumers(enrich_target, postgres_enabled):
        raw = {
            "enrich": {"size": {"instanceType": "c6i.large", "cpuTarget": enrich_target}},
            "destinations": {"postgres": {"enabled": postgres_enabled, "size": {"cpuTarget": 90}}},
        }
        return consumer_types(raw, "dev")

    found = consumers(20, True)
    assert [app for app, _, _ in found] == ["enrich", "s3LoaderEnriched", "s3LoaderBad", "postgresLoader"]
    assert found[0] == ("enrich", "c6i.large", 20) and found[3][2] == 90
    assert [app for app, _, _ in consumers(20, "true")] == ["enrich", "s3LoaderEnriched", "s3LoaderBad"]
    for outside in (19, 91, "50"):
        assert consumers(outside, False)[0] == ("enrich", "c6i.large", DEFAULT_CPU_TARGET), outside
    assert consumers(90, False)[0][2] == 90


def test_each_warning_names_the_key_the_traffic_and_the_fix_and_the_exact_need_passes():
    traffic = "snowplow:traffic (peak 1,000 events/s x headroom 1.5, 1,000 bytes per raw event)"
    notes = parse_prod(
        traffic={"peakEventsPerSecond": 1_000},
        streams={"shards": {"enriched": 2}},
        collector={"size": {"instanceType": "c6i.large", "maxSize": 2}},
        loaders={"enriched": {"leaseTable": {"billingMode": "PROVISIONED", "writeCapacity": 1}}},
    ).notes
    assert notes == (
        f"snowplow:streams.shards.enriched: 2 shard(s) are fewer than the 5 that {traffic} needs (1 MiB/s and 1,000 "
        "records/s per shard, one shard per consumer instance): writes will be throttled at the peak; raise it or "
        "remove it to derive it",
        f"snowplow:collector.size.maxSize: 2 x c6i.large carry about 1,200 events/s but {traffic} needs 3; raise "
        "maxSize or choose a larger instanceType",
        "snowplow:loaders.enriched.leaseTable.writeCapacity: 1 is below the 5 units a KCL lease table needs for 2 "
        "shards: lease renewals will be throttled; raise it",
    )
    exactly_enough = parse_prod(
        traffic={"peakEventsPerSecond": 1_000},
        streams={"shards": {"enriched": 5}},
        collector={"size": {"instanceType": "c6i.large", "maxSize": 3}},
    )
    assert exactly_enough.notes == ()


def test_warnings_name_each_consumers_own_key():
    notes = parse_prod(
        traffic={"peakEventsPerSecond": 5_000},
        enrich={"size": {"instanceType": "c6i.large", "minSize": 1, "maxSize": 2}},
        loaders={
            "bad": {
                "size": {"minSize": 1, "maxSize": 1},
                "leaseTable": {"billingMode": "PROVISIONED", "readCapacity": 1, "writeCapacity": 100},
            }
        },
        iglu={"server": {"enabled": True, "domain": "iglu.example.com", "hostedZoneId": "Z0123456789EXAMPLE"}},
        destinations={"postgres": {"enabled": True, "size": {"instanceType": "t3a.micro", "minSize": 1, "maxSize": 2}}},
    ).notes
    assert [note.split(": ", 1)[0] for note in notes] == [
        "snowplow:enrich.size.maxSize",
        "snowplow:loaders.bad.size.maxSize",
        "snowplow:destinations.postgres.size.maxSize",
        "snowplow:loaders.bad.leaseTable.readCapacity",
    ]
    assert notes[0].startswith("snowplow:enrich.size.maxSize: 2 x c6i.large carry about 600 events/s but")

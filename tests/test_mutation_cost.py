"""What a user of the cost estimate sees: the preview's cost lines, the plan as the estimator reads it, and the
price refresh's Price List API queries, merged table and command line (botocore Stubber, no network)."""

import datetime
import json

import boto3
import pytest
from botocore.stub import Stubber

from offline import cost as cost_module
from offline.cost import cost_lines, fetch_instance_prices, main, plan_cost, plan_resources, refresh
from policies.snowplow_cost import estimate


def test_cost_lines_show_the_total_the_rate_each_component_and_what_was_not_priced():
    cost = {
        "monthlyUsd": 1234.5,
        "region": "eu-west-1",
        "perMillionEventsUsd": 0.01234,
        "peakEventsPerSecond": 1500,
        "components": {"network": 33.0, "collector": 1200.456},
        "fallbackPrices": ["kinesisShardHour", "natHour"],
        "unpriced": ["aws:made/up:Thing", "aws:x/y:Z"],
        "usageOnly": ["aws:s3/bucketV2:BucketV2", "aws:sqs/queue:Queue"],
    }
    assert cost_lines(cost) == [
        "Estimated cost: $1,234.50 a month in eu-west-1 at 1,500 events/s sustained ($0.012 per million)",
        "    network  : $    33.00",
        "    collector: $ 1,200.46",
        "    (2 prices missing for eu-west-1 taken from us-east-1)",
        "    not priced (counted as $0): aws:made/up:Thing, aws:x/y:Z",
        "    billed per request only (counted as $0): aws:s3/bucketV2:BucketV2, aws:sqs/queue:Queue",
    ]


def test_cost_lines_without_traffic_or_components_are_one_line():
    cost = {
        "monthlyUsd": 0,
        "region": "us-east-1",
        "perMillionEventsUsd": None,
        "peakEventsPerSecond": None,
        "components": {},
        "fallbackPrices": [],
        "unpriced": [],
        "usageOnly": [],
    }
    assert cost_lines(cost) == ["Estimated cost: $0.00 a month in us-east-1"]


def test_the_estimator_sees_each_resource_with_its_inputs_as_props():
    plan = [
        {
            "urn": "urn:a",
            "type": "aws:kms/key:Key",
            "name": "key",
            "parent": "urn:s",
            "custom": False,
            "inputs": {"x": 1},
        },
        {"urn": "urn:b", "type": "aws:ec2/vpc:Vpc", "name": "vpc", "inputs": None},
    ]
    assert plan_resources(plan) == [
        {
            "urn": "urn:a",
            "type": "aws:kms/key:Key",
            "name": "key",
            "parent": "urn:s",
            "custom": False,
            "props": {"x": 1},
        },
        {"urn": "urn:b", "type": "aws:ec2/vpc:Vpc", "name": "vpc", "parent": None, "custom": True, "props": {}},
    ]


def _client():
    return boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _product(*usd, terms=True):
    dimensions = {f"D{i}": {"unit": "Hrs", "pricePerUnit": {"USD": price}} for i, price in enumerate(usd)}
    document = {"product": {}}
    if terms:
        document["terms"] = {"OnDemand": {"T": {"priceDimensions": dimensions}}}
    return json.dumps(document)


def _filters(pairs):
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in pairs.items()]


EC2_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
}
RDS_FILTERS = {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"}


def _expect(stub, service, extra, instance, region, price_list):
    filters = {"instanceType": instance, "regionCode": region, **extra}
    stub.add_response(
        "get_products",
        {"PriceList": price_list, "FormatVersion": "aws_v1"},
        {"ServiceCode": service, "Filters": _filters(filters), "MaxResults": 10},
    )


def test_instance_prices_are_the_cheapest_linux_shared_on_demand_and_single_az_postgres_price():
    client = _client()
    with Stubber(client) as stub:
        # a zero-price dimension (a reservation line) and a product without terms are skipped; the cheapest wins
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", "eu-west-1", [_product("0.0200"), _product("0", "0.0111")])
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.small", "eu-west-1", [_product(terms=False), _product("0.0000")])
        _expect(stub, "AmazonRDS", RDS_FILTERS, "db.t4g.micro", "eu-west-1", [_product("0.0180")])
        found = fetch_instance_prices(client, "eu-west-1", ["t3a.micro", "t3a.small"], ["db.t4g.micro"])
        stub.assert_no_pending_responses()
    assert found == {"ec2Hour": {"t3a.micro": 0.0111}, "rdsHour": {"db.t4g.micro": 0.018}}


def _table():
    return {
        "date": "2020-01-01",
        "fallbackRegion": "us-east-1",
        "sources": {"ec2": "somewhere"},
        "regions": {
            "us-east-1": {"ec2Hour": {"t3a.micro": 0.0094}, "rdsHour": {"db.t4g.micro": 0.016}},
            "eu-west-1": {"ec2Hour": {"t3a.micro": 0.01, "m5.large": 0.1}, "rdsHour": {"db.t4g.micro": 0.017}},
        },
    }


def test_refresh_merges_fresh_prices_keeps_the_others_and_dates_the_table():
    client = _client()
    table = _table()
    with Stubber(client) as stub:
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", "eu-west-1", [_product("0.0111")])
        _expect(stub, "AmazonRDS", RDS_FILTERS, "db.t4g.micro", "eu-west-1", [])  # not listed: the old price stays
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", "ap-south-1", [_product("0.0050")])
        _expect(stub, "AmazonRDS", RDS_FILTERS, "db.t4g.micro", "ap-south-1", [_product("0.0100")])
        updated = refresh(table, ["eu-west-1", "ap-south-1"], client=client, today=datetime.date(2026, 11, 29))
        stub.assert_no_pending_responses()
    assert updated["regions"]["eu-west-1"] == {
        "ec2Hour": {"t3a.micro": 0.0111, "m5.large": 0.1},
        "rdsHour": {"db.t4g.micro": 0.017},
    }
    assert updated["regions"]["ap-south-1"] == {"ec2Hour": {"t3a.micro": 0.005}, "rdsHour": {"db.t4g.micro": 0.01}}
    assert updated["regions"]["us-east-1"] == _table()["regions"]["us-east-1"]
    assert updated["date"] == "2026-11-29"
    assert updated["sources"] == {
        "ec2": "somewhere",
        "refresh": "EC2 and RDS instance prices: AWS Price List API (pricing:GetProducts)",
    }


def test_refresh_asks_the_fallback_regions_instance_list_and_defaults_to_today():
    client = _client()
    table = _table()
    del table["fallbackRegion"]  # us-east-1 when the table names none
    table["regions"]["us-east-1"]["ec2Hour"]["c5.xlarge"] = 0.17
    with Stubber(client) as stub:
        _expect(stub, "AmazonEC2", EC2_FILTERS, "c5.xlarge", "eu-west-1", [])
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", "eu-west-1", [])
        _expect(stub, "AmazonRDS", RDS_FILTERS, "db.t4g.micro", "eu-west-1", [])
        updated = refresh(table, ["eu-west-1"], client=client)
        stub.assert_no_pending_responses()
    assert updated["date"] == datetime.date.today().isoformat()
    assert updated["regions"]["eu-west-1"] == _table()["regions"]["eu-west-1"]


@pytest.fixture
def pricing_client(monkeypatch):
    """boto3.client answered by a Stubber; records how it was created."""
    client, created = _client(), []

    def fake_client(service, **kwargs):
        created.append((service, kwargs))
        return client

    monkeypatch.setattr(boto3, "client", fake_client)
    with Stubber(client) as stub:
        yield stub, created
        stub.assert_no_pending_responses()


def test_refresh_command_rewrites_the_table_from_the_price_list_api_in_us_east_1(tmp_path, capsys, pricing_client):
    stub, created = pricing_client
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(_table()))
    for region in ("eu-west-1", "us-east-1"):  # every region of the table, sorted
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", region, [_product("0.0300")])
        _expect(stub, "AmazonRDS", RDS_FILTERS, "db.t4g.micro", region, [])
    assert main(["--refresh", "--prices", str(prices)]) == 0
    assert created == [("pricing", {"region_name": "us-east-1"})]
    text = prices.read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "date"')
    table = json.loads(text)
    assert table["regions"]["eu-west-1"]["ec2Hour"]["t3a.micro"] == 0.03
    assert table["regions"]["us-east-1"]["ec2Hour"]["t3a.micro"] == 0.03
    assert capsys.readouterr().out.splitlines() == [
        "refreshing instance prices for eu-west-1, us-east-1 from the AWS Price List API ...",
        f"wrote {prices}",
    ]


def test_refresh_command_refreshes_only_the_regions_named(tmp_path, capsys, pricing_client):
    stub, _ = pricing_client
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(_table()))
    for region in ("ap-south-1", "eu-west-1"):
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", region, [_product("0.0300")])
        _expect(stub, "AmazonRDS", RDS_FILTERS, "db.t4g.micro", region, [])
    assert main(["--refresh", "--region", "ap-south-1", "--region", "eu-west-1", "--prices", str(prices)]) == 0
    assert "for ap-south-1, eu-west-1 from" in capsys.readouterr().out
    assert json.loads(prices.read_text())["regions"]["us-east-1"] == _table()["regions"]["us-east-1"]


def test_without_refresh_the_command_only_explains_itself(tmp_path, capsys, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text("{}")
    monkeypatch.setattr(cost_module, "refresh", lambda *a, **k: pytest.fail("refreshed without --refresh"))
    assert main(["--prices", str(prices)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m offline.cost")
    assert "--refresh" in out and "re-read instance prices from the Price List API" in out
    assert prices.read_text() == "{}"


def test_price_documents_without_on_demand_hourly_usd_prices_are_skipped():
    client = _client()
    odd = [
        json.dumps({"terms": {"Reserved": {"T": {"priceDimensions": {"D": {"pricePerUnit": {"USD": "0.001"}}}}}}}),
        json.dumps({"terms": {"OnDemand": {"T": {}}}}),
        json.dumps({"terms": {"OnDemand": {"T": {"priceDimensions": {"D": {"unit": "Hrs"}}}}}}),
        json.dumps({"terms": {"OnDemand": {"T": {"priceDimensions": {"D": {"pricePerUnit": {"EUR": "0.5"}}}}}}}),
    ]
    with Stubber(client) as stub:
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", "eu-west-1", [*odd, _product("0.0400")])
        assert fetch_instance_prices(client, "eu-west-1", ["t3a.micro"], []) == {
            "ec2Hour": {"t3a.micro": 0.04},
            "rdsHour": {},
        }


class ShownStream:
    """A terminal stand-in: what was written is shown only once flushed."""

    def __init__(self):
        self.pending, self.shown = "", ""

    def write(self, text):
        self.pending += text

    def flush(self):
        self.shown, self.pending = self.shown + self.pending, ""


def test_the_refresh_says_what_it_is_about_to_do_before_the_slow_part(tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(_table()))
    stdout = ShownStream()
    monkeypatch.setattr("sys.stdout", stdout)

    def slow_refresh(table, regions):
        assert "refreshing instance prices for eu-west-1 from the AWS Price List API ..." in stdout.shown
        return table

    monkeypatch.setattr(cost_module, "refresh", slow_refresh)
    assert main(["--refresh", "--region", "eu-west-1", "--prices", str(prices)]) == 0


def test_the_help_explains_each_option(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: python -m offline.cost [-h] [--refresh] [--region REGION] [--prices PRICES]")
    assert "Monthly cost of a previewed plan" in out
    assert "--refresh re-read instance prices from the Price List API" in out
    assert "--region REGION region to refresh (default: every region in the table)" in out
    assert "--prices PRICES price table to update" in out


def test_the_plans_cost_is_priced_in_the_stacks_region():
    plan = [
        {"urn": "urn:nat", "type": "aws:ec2/natGateway:NatGateway", "name": "nat", "inputs": {}},
        {"urn": "urn:key", "type": "aws:kms/key:Key", "name": "key", "inputs": None},
    ]
    ireland, virginia = plan_cost(plan, "eu-west-1"), plan_cost(plan, "us-east-1")
    assert ireland["region"] == "eu-west-1" and virginia["region"] == "us-east-1"
    assert ireland["monthlyUsd"] == estimate(plan_resources(plan), "eu-west-1").monthly_usd
    assert ireland["monthlyUsd"] > virginia["monthlyUsd"]  # eu-west-1's NAT hour costs more


def test_an_answer_without_a_price_list_leaves_the_price_alone():
    client = _client()
    with Stubber(client) as stub:
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1"},
            {
                "ServiceCode": "AmazonRDS",
                "Filters": _filters({"instanceType": "db.x", "regionCode": "eu-west-1", **RDS_FILTERS}),
                "MaxResults": 10,
            },
        )
        assert fetch_instance_prices(client, "eu-west-1", [], ["db.x"]) == {"ec2Hour": {}, "rdsHour": {}}


def test_refresh_asks_for_the_instances_the_tables_fallback_region_lists():
    client = _client()
    table = _table()
    table["fallbackRegion"] = "eu-west-1"  # lists m5.large and t3a.micro; us-east-1 only t3a.micro
    with Stubber(client) as stub:
        _expect(stub, "AmazonEC2", EC2_FILTERS, "m5.large", "ap-south-1", [_product("0.1")])
        _expect(stub, "AmazonEC2", EC2_FILTERS, "t3a.micro", "ap-south-1", [])
        _expect(stub, "AmazonRDS", RDS_FILTERS, "db.t4g.micro", "ap-south-1", [])
        refresh(table, ["ap-south-1"], client=client, today=datetime.date(2026, 1, 1))
        stub.assert_no_pending_responses()
    assert table["regions"]["ap-south-1"] == {"ec2Hour": {"m5.large": 0.1}}


def test_the_refresh_command_reads_its_arguments_and_rewrites_the_shipped_table_by_default(tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(_table()))
    monkeypatch.setattr(cost_module, "PRICES_PATH", prices)
    refreshed = []
    monkeypatch.setattr(cost_module, "refresh", lambda table, regions: refreshed.append(regions) or {"new": 1})
    monkeypatch.setattr("sys.argv", ["python -m offline.cost", "--refresh", "--region", "eu-west-1"])
    assert main() == 0
    assert refreshed == [["eu-west-1"]]
    assert json.loads(prices.read_text()) == {"new": 1}

"""Monthly cost of a previewed plan (the pack's estimator on the plan's resources), and a price-table refresh.

`python -m offline.cost --refresh [--region R ...]` re-reads the EC2 and RDS instance prices the table lists
from the AWS Price List API (boto3 `pricing`; needs AWS credentials) and rewrites policies/prices.json.
"""

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from policies.snowplow_cost import PRICES_PATH, estimate, load_prices

PRICING_REGION = "us-east-1"  # the Price List API answers from us-east-1 (and ap-south-1 / eu-central-1)


def plan_resources(resources: list[dict]) -> list[dict]:
    """The estimator's view of the preview's resources: inputs as props."""
    return [
        {
            "urn": r["urn"],
            "type": r["type"],
            "name": r["name"],
            "parent": r.get("parent"),
            "custom": r.get("custom", True),
            "props": r.get("inputs") or {},
        }
        for r in resources
    ]


def plan_cost(resources: list[dict], region: str) -> dict[str, Any]:
    """The plan's `cost` document: monthlyUsd, per component, perMillionEventsUsd at the design peak."""
    return estimate(plan_resources(resources), region).document()


def cost_lines(cost: dict[str, Any]) -> list[str]:
    lines = [f"Estimated cost: ${cost['monthlyUsd']:,.2f} a month in {cost['region']}"]
    if cost["perMillionEventsUsd"] is not None:
        lines[0] += (
            f" at {cost['peakEventsPerSecond']:,.0f} events/s sustained (${cost['perMillionEventsUsd']:.3f} per million)"
        )
    width = max((len(name) for name in cost["components"]), default=0)
    lines += [f"    {name:<{width}}: ${usd:>9,.2f}" for name, usd in cost["components"].items()]
    if cost["fallbackPrices"]:
        lines.append(f"    ({len(cost['fallbackPrices'])} prices missing for {cost['region']} taken from us-east-1)")
    if cost["unpriced"]:
        lines.append(f"    not priced (counted as $0): {', '.join(cost['unpriced'])}")
    if cost["usageOnly"]:
        lines.append(f"    billed per request only (counted as $0): {', '.join(cost['usageOnly'])}")
    return lines


def _on_demand_usd(price_item: str) -> float | None:
    """The hourly on-demand USD price in one Price List API product document."""
    product = json.loads(price_item)
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = float(dimension.get("pricePerUnit", {}).get("USD", "0"))
            if usd > 0:
                return usd
    return None


def _filters(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in pairs.items()]


def fetch_instance_prices(client, region: str, ec2_types: list[str], rds_classes: list[str]) -> dict[str, dict]:
    """{"ec2Hour": {type: usd}, "rdsHour": {class: usd}} for one region, as the Price List API lists them."""
    found: dict[str, dict] = {"ec2Hour": {}, "rdsHour": {}}
    queries = [
        (
            "ec2Hour",
            "AmazonEC2",
            name,
            {
                "instanceType": name,
                "regionCode": region,
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
            },
        )
        for name in ec2_types
    ] + [
        (
            "rdsHour",
            "AmazonRDS",
            name,
            {
                "instanceType": name,
                "regionCode": region,
                "databaseEngine": "PostgreSQL",
                "deploymentOption": "Single-AZ",
            },
        )
        for name in rds_classes
    ]
    for key, service, name, pairs in queries:
        answer = client.get_products(ServiceCode=service, Filters=_filters(pairs), MaxResults=10)
        prices = [usd for item in answer.get("PriceList", []) if (usd := _on_demand_usd(item)) is not None]
        if prices:
            found[key][name] = min(prices)
    return found


def refresh(table: dict, regions: list[str], client=None, today: datetime.date | None = None) -> dict:
    """The table with each region's EC2 and RDS instance prices re-read from the Price List API."""
    if client is None:
        import boto3

        client = boto3.client("pricing", region_name=PRICING_REGION)
    fallback = table["regions"][table.get("fallbackRegion", "us-east-1")]
    for region in regions:
        own = table["regions"].setdefault(region, {})
        fresh = fetch_instance_prices(client, region, sorted(fallback["ec2Hour"]), sorted(fallback["rdsHour"]))
        for key, prices in fresh.items():
            if prices:
                own[key] = {**own.get(key, {}), **prices}
    table["date"] = (today or datetime.date.today()).isoformat()
    table["sources"]["refresh"] = "EC2 and RDS instance prices: AWS Price List API (pricing:GetProducts)"
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.cost", description=__doc__)
    parser.add_argument("--refresh", action="store_true", help="re-read instance prices from the Price List API")
    parser.add_argument("--region", action="append", help="region to refresh (default: every region in the table)")
    parser.add_argument("--prices", type=Path, default=PRICES_PATH, help="price table to update")
    args = parser.parse_args(argv)  # None: sys.argv[1:]
    if not args.refresh:
        parser.print_help()
        return 0
    table = load_prices(args.prices)
    regions = args.region or sorted(table["regions"])
    print(f"refreshing instance prices for {', '.join(regions)} from the AWS Price List API ...", flush=True)
    table = refresh(table, regions)
    args.prices.write_text(json.dumps(table, indent=2) + "\n")
    print(f"wrote {args.prices}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Preflight a stack before `pulumi up`: what the program cannot know from its config, checked with boto3.

One line per check: credentials and account, region enabled, the collector's certificate or hosted zone,
instance types offered in the AZs the stack uses, Kinesis shard quota, the Auto Scaling service-linked role,
and every Secrets Manager secret the config references (read, never printed).

Exit codes: 0 every check passed; 1 a check failed; 2 the stack file is missing or its config is invalid.
"""

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from components.platform.streams import STREAMS
from offline.engine import PROJECT_DIR, StackFile, stack_deployment
from ops import aws
from stack_config import ConfigError, Deployment
from stack_config.secrets import referenced_secrets

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
SERVICE_LINKED_ROLE = "AWSServiceRoleForAutoScaling"
SLR_FIX = "aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com"
REGION_ENABLED = ("opt-in-not-required", "opted-in")
STREAM_SUFFIXES = {logical: suffix for logical, (suffix, _) in STREAMS.items()}  # the streams the program creates


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool | None  # None: not applicable / skipped
    detail: str
    fix: str | None = None

    def line(self) -> str:
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[self.ok]
        text = f"{mark}  {self.name:<22} {self.detail}"
        return text + (f"\n      fix: {self.fix}" if self.fix else "")


# --- checks ---------------------------------------------------------------------------------------------------


def check_credentials(deployment: Deployment, clients: aws.Clients) -> Result:
    identity = clients("sts").get_caller_identity()
    return Result("credentials", True, f"account {identity['Account']} as {identity['Arn']}")


def check_region(deployment: Deployment, clients: aws.Clients) -> Result:
    region = deployment.region
    try:
        found = clients("ec2").describe_regions(AllRegions=True, RegionNames=[region])["Regions"]
    except aws.AWS_ERRORS as err:
        if aws.error_code(err) in ("AuthFailure", "UnrecognizedClientException", "OptInRequired"):
            return Result(
                "region",
                False,
                f"{region} is not enabled for this account ({aws.describe_error(err)})",
                _opt_in(region),
            )
        raise
    status = found[0].get("OptInStatus", "opt-in-not-required") if found else "unknown region"
    if status in REGION_ENABLED:
        return Result("region", True, f"{region} ({status})")
    return Result("region", False, f"{region} is {status}", _opt_in(region))


def _opt_in(region: str) -> str:
    return f"aws account enable-region --region-name {region}  (then wait until it reports ENABLED)"


def _covers(domain: str, names: list[str]) -> bool:
    for name in names:
        name = name.lower().rstrip(".")
        if name == domain or (
            name.startswith("*.") and domain.count(".") == name.count(".") and domain.endswith(name[1:])
        ):
            return True
    return False


def check_tls(deployment: Deployment, clients: aws.Clients) -> Result:
    collector = deployment.config.collector
    if collector.certificate_arn:
        arn = collector.certificate_arn  # the stack config already requires it in the stack's region
        try:
            cert = clients("acm").describe_certificate(CertificateArn=arn)["Certificate"]
        except aws.AWS_ERRORS as err:
            return Result("certificate", False, f"snowplow:collector.certificateArn {arn}: {aws.describe_error(err)}")
        names = list(dict.fromkeys([cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])]))
        if cert.get("Status") != "ISSUED":
            return Result(
                "certificate",
                False,
                f"{arn} ({cert.get('DomainName')}) is {cert.get('Status')}, not ISSUED",
                "finish its validation in ACM (DNS record) or request a new one",
            )
        if collector.domain and not _covers(collector.domain, names):
            return Result("certificate", False, f"{arn} covers {', '.join(names)}, not {collector.domain}")
        return Result("certificate", True, f"{arn} ISSUED for {', '.join(names)}")
    if collector.hosted_zone_id:
        zone_id = collector.hosted_zone_id
        try:
            zone = clients("route53").get_hosted_zone(Id=zone_id)["HostedZone"]
        except aws.AWS_ERRORS as err:
            return Result("hosted zone", False, f"snowplow:collector.hostedZoneId {zone_id}: {aws.describe_error(err)}")
        zone_name = zone["Name"].rstrip(".").lower()
        domain = collector.domain.lower()
        if domain != zone_name and not domain.endswith("." + zone_name):
            return Result("hosted zone", False, f"{zone_id} is {zone_name}; {domain} is not inside it")
        if zone.get("Config", {}).get("PrivateZone"):
            return Result(
                "hosted zone",
                False,
                f"{zone_id} ({zone_name}) is private: ACM's DNS validation and trackers need a public zone",
            )
        return Result("hosted zone", True, f"{zone_id} is {zone_name}: the certificate for {domain} is validated there")
    return Result("certificate", None, "the collector has no TLS configured (plain HTTP)")


def _stack_azs(deployment: Deployment, clients: aws.Clients) -> list[str]:
    """The AZs the program will place instances in: the first N available, or those of the adopted private subnets."""
    ec2 = clients("ec2")
    network = deployment.config.network
    if network.create is not None:
        zones = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
        # the provider's get_availability_zones sorts by name; the program takes the first `azs`
        return sorted(z["ZoneName"] for z in zones["AvailabilityZones"])[: network.create.azs]
    subnets = ec2.describe_subnets(SubnetIds=list(network.existing.private_subnet_ids))["Subnets"]
    return sorted({s["AvailabilityZone"] for s in subnets})


def instance_types(deployment: Deployment) -> dict[str, str]:
    """Config key -> EC2 instance type, for every app the stack runs."""
    return {f"snowplow:{key}.size.instanceType": size.instance_type for _, key, size in deployment.config.app_sizes()}


def check_instance_types(deployment: Deployment, clients: aws.Clients) -> Result:
    azs = _stack_azs(deployment, clients)
    wanted = instance_types(deployment)
    if deployment.config.network.create is not None and len(azs) < deployment.config.network.create.azs:
        return Result(
            "instance types",
            False,
            f"snowplow:network.create.azs is {deployment.config.network.create.azs} but {deployment.region} has "
            f"{len(azs)} available AZs",
        )
    paginator = clients("ec2").get_paginator("describe_instance_type_offerings")
    offered: dict[str, set[str]] = {}
    for page in paginator.paginate(
        LocationType="availability-zone",
        Filters=[
            {"Name": "location", "Values": azs},
            {"Name": "instance-type", "Values": sorted(set(wanted.values()))},
        ],
    ):
        for offer in page["InstanceTypeOfferings"]:
            offered.setdefault(offer["InstanceType"], set()).add(offer["Location"])
    problems = [
        f"{key} {itype} is not offered in {', '.join(sorted(set(azs) - offered.get(itype, set())))}"
        for key, itype in wanted.items()
        if set(azs) - offered.get(itype, set())
    ]
    if problems:
        return Result("instance types", False, "; ".join(problems), "choose a type offered in every AZ the stack uses")
    return Result("instance types", True, f"{', '.join(sorted(set(wanted.values())))} offered in {', '.join(azs)}")


def check_shard_quota(deployment: Deployment, clients: aws.Clients) -> Result:
    kinesis = clients("kinesis")
    limits = kinesis.describe_limits()
    streams = deployment.config.streams
    names = {logical: f"{deployment.prefix}-{suffix}" for logical, suffix in STREAM_SUFFIXES.items()}
    existing: dict[str, int] = {}
    for logical, name in names.items():
        try:
            summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        except aws.AWS_ERRORS as err:
            if aws.error_code(err) == "ResourceNotFoundException":
                continue
            raise
        existing[logical] = summary.get("OpenShardCount", 0)
    if streams.mode == "ON_DEMAND":
        new_streams = len(names) - len(existing)
        used, limit = limits["OnDemandStreamCount"], limits["OnDemandStreamCountLimit"]
        ok = used + new_streams <= limit
        detail = f"on-demand streams: {used} of {limit} used, {new_streams} to create"
        return Result("kinesis quota", ok, detail, None if ok else "request a higher on-demand stream quota")
    planned = {logical: getattr(streams.shards, logical) for logical in names}
    extra = sum(max(0, planned[k] - existing.get(k, 0)) for k in names)
    used, limit = limits["OpenShardCount"], limits["ShardLimit"]
    detail = f"shards: {used} of {limit} open, {sum(planned.values())} planned ({extra} new)"
    if used + extra > limit:
        return Result("kinesis quota", False, detail, "request a higher Kinesis shard quota (Service Quotas)")
    return Result("kinesis quota", True, detail)


def check_service_linked_role(deployment: Deployment, clients: aws.Clients) -> Result:
    try:
        role = clients("iam").get_role(RoleName=SERVICE_LINKED_ROLE)["Role"]
    except aws.AWS_ERRORS as err:
        if aws.error_code(err) == "NoSuchEntity":
            return Result(
                "autoscaling role",
                False,
                f"{SERVICE_LINKED_ROLE} does not exist; the stack key's policy names it so instances can boot",
                SLR_FIX,
            )
        raise
    return Result("autoscaling role", True, role["Arn"])


def check_secrets(deployment: Deployment, clients: aws.Clients, read_values: bool = True) -> list[Result]:
    """Each referenced secret exists (DescribeSecret) and, unless told not to, has a value we can read."""
    secrets = referenced_secrets(deployment.config)
    if not secrets:
        return [Result("secrets", None, "the config references no Secrets Manager secret")]
    results = []
    for arn, keys in secrets.items():
        client = clients("secretsmanager", aws.region_from_arn(arn))
        try:
            described = client.describe_secret(SecretId=arn)
            if described.get("DeletedDate"):
                results.append(Result("secret", False, f"{arn} ({keys[0]}) is scheduled for deletion"))
                continue
            if not read_values:
                results.append(
                    Result("secret", True, f"{described['Name']} exists ({', '.join(keys)}; value not read)")
                )
                continue
            value = client.get_secret_value(SecretId=arn)
            readable = bool(value.get("SecretString") or value.get("SecretBinary"))
            del value  # never printed, never kept
        except aws.AWS_ERRORS as err:
            results.append(Result("secret", False, f"{arn} ({', '.join(keys)}): {aws.describe_error(err)}"))
            continue
        if readable:
            results.append(Result("secret", True, f"{described['Name']} readable ({', '.join(keys)})"))
        else:
            results.append(Result("secret", False, f"{arn} ({', '.join(keys)}) has no value"))
    return results


CHECKS: list[tuple[str, Callable[[Deployment, aws.Clients], Result | list[Result]]]] = [
    ("region", check_region),
    ("certificate", check_tls),
    ("instance types", check_instance_types),
    ("kinesis quota", check_shard_quota),
    ("autoscaling role", check_service_linked_role),
    ("secrets", check_secrets),
]


def run_checks(deployment: Deployment, emit: Callable[[Result], None], read_secret_values: bool = True) -> list[Result]:
    """Credentials first (everything else needs them), then every other check, each isolated from the others."""
    clients = aws.Clients(deployment.region)
    results: list[Result] = []

    def record(result: Result) -> None:
        results.append(result)
        emit(result)

    try:
        record(check_credentials(deployment, clients))
    except aws.AWS_ERRORS as err:
        record(Result("credentials", False, aws.describe_error(err)))
        for name, _ in CHECKS:
            record(Result(name, None, "not checked: no working credentials"))
        return results
    for name, check in CHECKS:
        try:
            if check is check_secrets:
                outcome = check_secrets(deployment, clients, read_values=read_secret_values)
            else:
                outcome = check(deployment, clients)
        except aws.AWS_ERRORS as err:
            outcome = Result(name, False, f"cannot check: {aws.describe_error(err)}")
        for result in outcome if isinstance(outcome, list) else [outcome]:
            record(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.preflight", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev", help="reads Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--config", type=Path, help="path to a Pulumi.<name>.yaml stack file")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--no-secret-values",
        action="store_true",
        help="check that secrets exist (DescribeSecret) without reading their values (GetSecretValue)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path = args.config or PROJECT_DIR / f"Pulumi.{args.stack}.yaml"
    try:
        deployment = stack_deployment(StackFile.read(path))
    except (OSError, ValueError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"preflight {deployment.project}-{deployment.stack} in {deployment.region} ({path.name})", flush=True)
    results = run_checks(
        deployment, lambda r: print(r.line(), flush=True), read_secret_values=not args.no_secret_values
    )
    counts = {
        label: sum(1 for r in results if r.ok is value)
        for label, value in (("passed", True), ("failed", False), ("skipped", None))
    }
    print(
        "preflight "
        + ("FAILED: " if counts["failed"] else "OK: ")
        + ", ".join(f"{n} {label}" for label, n in counts.items() if n)
    )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    return EXIT_FAILED if counts["failed"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

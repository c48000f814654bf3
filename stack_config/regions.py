"""The stack's region: where it comes from (as the AWS provider decides) and whether botocore knows it."""

import difflib
import functools
import json
import os
import re

import botocore
from botocore.loaders import create_loader

# The program writes `arn:aws:` ARNs (S3, IAM), so only the commercial partition is supported for now.
PARTITION = "aws"
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")  # what pulumi-aws reads when aws:region is not set


@functools.cache
def known_regions(partition: str = PARTITION) -> tuple[str, ...]:
    """Regions of a partition as listed in botocore's endpoint data."""
    data = create_loader().load_data("endpoints")
    return tuple(sorted(next(p for p in data["partitions"] if p["partition"] == partition)["regions"]))


@functools.cache
def partition_of(region: str) -> str | None:
    """The partition whose region pattern matches, e.g. aws-cn for cn-north-1."""
    for partition in create_loader().load_data("endpoints")["partitions"]:
        if region in partition["regions"] or re.fullmatch(partition["regionRegex"].strip("^$"), region, re.ASCII):
            return partition["partition"]
    return None


def resolve_region(configured: object, environ: dict | None = None) -> tuple[object, str]:
    """`aws:region` if set, else the first of AWS_REGION / AWS_DEFAULT_REGION that is set: (value, source)."""
    if configured is not None:
        return configured, "aws:region"
    environ = os.environ if environ is None else environ
    for name in REGION_ENV:
        if name in environ:
            return environ[name], name
    return None, "aws:region"


def region_problem(region: object, source: str) -> str | None:
    """None for a region of the supported partition, else the error line naming where the value came from."""
    where = (
        "aws:region" if source == "aws:region" else f"aws:region (not set, so {source} is used, as the provider does)"
    )
    if region is None:
        return (
            f"aws:region: required but not set: run `pulumi config set aws:region eu-west-1` "
            f"(or export {' or '.join(REGION_ENV)})"
        )
    regions = known_regions()
    if isinstance(region, str) and region in regions:
        return None
    shown = json.dumps(region, ensure_ascii=False)
    partition = partition_of(region) if isinstance(region, str) else None
    if partition not in (None, PARTITION):
        return f"{where}: only regions of the {PARTITION} partition are supported, not {partition} (got {shown})"
    hint = ""
    if isinstance(region, str):
        close = difflib.get_close_matches(region, regions, n=1)
        if region.strip() in regions:
            hint = "; remove the spaces or line break around it"
        elif close:
            hint = f"; did you mean {close[0]}?"
        elif partition == PARTITION:
            hint = f"; if AWS opened it after botocore {botocore.__version__}, raise botocore in requirements.txt"
    return f"{where}: must be an AWS region such as eu-west-1, as listed by botocore {botocore.__version__}{hint} (got {shown})"

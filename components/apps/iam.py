"""IAM statements scoped to exact ARNs, shared by the app components.

The stack key is only ever granted through the service that uses it (`kms:ViaService`), and where the
service passes one, only for this stack's resources (`kms:EncryptionContext:*`).
"""

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import pulumi

from stack_config.secret_refs import place_of

Statement = dict[str, Any]

KINESIS_DESCRIBE = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards"]
# What KCL 2.7.1 (the `kinesis` module of common-streams that Enrich 6 and S3 Loader 3 use) calls on its
# lease table: DynamoDBLeaseRefresher describes the table before it would create it, so a table that
# exists needs no dynamodb:CreateTable; PITR is left to us (leaseTablePitrEnabled defaults to false).
KCL_LEASE_TABLE_ACTIONS = [
    "dynamodb:DescribeTable",
    "dynamodb:Scan",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
]
# Actions of the Session Manager agent (the set of AWS's own AWSCloud9SSMInstanceProfile): the ssmmessages
# channel calls have no resource type, UpdateInstanceInformation is scoped to the calling instance.
SESSION_MANAGER_CHANNEL_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def kinesis_stream_actions() -> list[str]:
    """Every Kinesis action the apps' roles allow (producers and KCL consumers): what the VPC's Kinesis endpoint
    admits."""
    return sorted(
        {"kinesis:PutRecord", "kinesis:PutRecords", "kinesis:GetRecords", "kinesis:GetShardIterator"}
        | set(KINESIS_DESCRIBE)
    )


def kinesis_producer(sid: str, stream_arns: Sequence[pulumi.Input[str]]) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["kinesis:PutRecord", "kinesis:PutRecords", *KINESIS_DESCRIBE],
        "Resource": list(stream_arns),
    }


def kinesis_consumer(sid: str, stream_arn: pulumi.Input[str]) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator", *KINESIS_DESCRIBE],
        "Resource": [stream_arn],
    }


def s3_uri_objects(uri: str) -> str:
    """ARN pattern of the objects under an s3://bucket/prefix URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"arn:aws:s3:::{bucket}/{key}*"


_S3_HOST = re.compile(
    r"(?:(?P<bucket>[a-z0-9][a-z0-9.-]*)\.)?s3(?:[.-](?:dualstack\.)?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?\.amazonaws\.com"
)


def s3_object_of_https_url(url: str, region: str) -> str | None:
    """The S3 object behind an https URL when the request would leave through this region's S3 gateway
    endpoint (an S3 host of `region`, or a regionless one that may resolve there); else None."""
    parts = urlsplit(url)
    match = _S3_HOST.fullmatch(parts.hostname or "") if parts.scheme == "https" else None
    if match is None or match["region"] not in (None, region):
        return None
    path = parts.path.lstrip("/")
    bucket, key = (match["bucket"], path) if match["bucket"] else path.partition("/")[::2]
    return f"arn:aws:s3:::{bucket}/{key}" if bucket and key else None


def kcl_lease_table(table_arn: pulumi.Input[str]) -> Statement:
    """The lease table we create and KCL uses; no CreateTable, no tables beside it."""
    return {
        "Sid": "KclLeaseTable",
        "Effect": "Allow",
        "Action": KCL_LEASE_TABLE_ACTIONS,
        "Resource": [table_arn],
    }


def stack_key_via(
    sid: str,
    key_arn: pulumi.Input[str],
    service: str,
    region: str,
    actions: list[str],
    context: tuple[str, str, Sequence[pulumi.Input[str]]] | None = None,
) -> Statement:
    """Use of the stack key only through `service` in this region, optionally only for the resources named
    in the encryption context: `context` is (condition operator, context key, allowed values)."""
    condition: dict[str, dict[str, Any]] = {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}}
    if context is not None:
        operator, key, values = context
        condition.setdefault(operator, {})[f"kms:EncryptionContext:{key}"] = list(values)
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": key_arn, "Condition": condition}


def key_for_kinesis(
    key_arn: pulumi.Input[str],
    region: str,
    read: Sequence[pulumi.Input[str]] = (),
    write: Sequence[pulumi.Input[str]] = (),
) -> list[Statement]:
    """Consumers decrypt, producers generate data keys; Kinesis passes the stream ARN as context."""
    statements = []
    if read:
        statements.append(
            stack_key_via(
                "StackKeyReadsStreams",
                key_arn,
                "kinesis",
                region,
                ["kms:Decrypt"],
                ("StringEquals", "aws:kinesis:arn", read),
            )
        )
    if write:
        statements.append(
            stack_key_via(
                "StackKeyWritesStreams",
                key_arn,
                "kinesis",
                region,
                ["kms:GenerateDataKey"],
                ("StringEquals", "aws:kinesis:arn", write),
            )
        )
    return statements


def kcl_consumer(
    key_arn: pulumi.Input[str],
    region: str,
    read: tuple[str, pulumi.Input[str]],
    write: tuple[str, Sequence[pulumi.Input[str]]],
    table_arn: pulumi.Input[str],
    table_name: pulumi.Input[str],
) -> list[Statement]:
    """Every Kinesis consumer app: read its input stream, write its outputs, use its lease table, and the stack
    key for exactly those. `read` is (Sid, stream ARN), `write` (Sid, stream ARNs)."""
    (read_sid, source), (write_sid, outputs) = read, write
    return [
        kinesis_consumer(read_sid, source),
        kinesis_producer(write_sid, outputs),
        kcl_lease_table(table_arn),
        *key_for_kinesis(key_arn, region, read=[source], write=outputs),
        key_for_dynamodb(key_arn, region, table_name),
    ]


def key_for_s3(
    sid: str,
    key_arn: pulumi.Input[str],
    region: str,
    bucket_arn: pulumi.Input[str],
    prefix: str,
    write: bool = False,
) -> Statement:
    """S3 passes the bucket ARN as context when the object uses a bucket key, else the object ARN."""
    actions = ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
    objects = pulumi.Output.concat(bucket_arn, f"/{prefix}*")
    return stack_key_via(sid, key_arn, "s3", region, actions, ("StringLike", "aws:s3:arn", [bucket_arn, objects]))


def key_for_dynamodb(key_arn: pulumi.Input[str], region: str, table_name: pulumi.Input[str]) -> Statement:
    """DynamoDB works with the key through the grant made at table creation; this covers the calls it makes
    on the caller's behalf, for this table only (context aws:dynamodb:tableName)."""
    return stack_key_via(
        "StackKeyForLeaseTable",
        key_arn,
        "dynamodb",
        region,
        ["kms:Decrypt"],
        ("StringEquals", "aws:dynamodb:tableName", [table_name]),
    )


def key_for_secrets(key_arn: pulumi.Input[str], region: str, secret_arns: Sequence[pulumi.Input[str]]) -> Statement:
    """Secrets created in the stack are encrypted with the stack key; Secrets Manager passes the ARN."""
    return stack_key_via(
        "StackKeyReadsReferencedSecrets",
        key_arn,
        "secretsmanager",
        region,
        ["kms:Decrypt"],
        ("StringEquals", "SecretARN", secret_arns),
    )


def keys_of_referenced_secrets(key_arns: Sequence[str], secret_arns: Sequence[pulumi.Input[str]]) -> Statement | None:
    """Secrets named in stack config may be encrypted with a customer-managed key other than the stack's (always so
    when read across accounts): decrypt with the listed keys of those secrets' accounts and regions, only through
    Secrets Manager and only for those secrets. Secrets the stack creates (Outputs) use the stack key."""
    named = [arn for arn in secret_arns if isinstance(arn, str)]
    keys = sorted({key for key in key_arns if place_of(key) in {place_of(arn) for arn in named}})
    if not keys:
        return None
    key_places = {place_of(key) for key in keys}
    return {
        "Sid": "SecretKeysDecryptReferencedSecrets",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": keys,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": sorted({f"secretsmanager.{region}.amazonaws.com" for region, _ in key_places}),
                "kms:EncryptionContext:SecretARN": sorted({arn for arn in named if place_of(arn) in key_places}),
            }
        },
    }

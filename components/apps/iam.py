"""IAM statements scoped to exact ARNs, shared by the app components."""

from collections.abc import Sequence
from typing import Any

import pulumi

Statement = dict[str, Any]

KINESIS_DESCRIBE = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards"]


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


def kcl_tables(table_arn: pulumi.Output[str]) -> list[Statement]:
    """The lease table we create, plus the two tables KCL 3 creates beside it, and their indexes."""
    related = [table_arn.apply(lambda a, s=suffix: f"{a}{s}") for suffix in ("-WorkerMetricStats", "-CoordinatorState")]
    return [
        {
            "Sid": "KclLeaseAndCoordinationTables",
            "Effect": "Allow",
            "Action": [
                "dynamodb:CreateTable",
                "dynamodb:DescribeTable",
                "dynamodb:UpdateTable",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Scan",
                "dynamodb:Query",
            ],
            "Resource": [table_arn, *related, table_arn.apply(lambda a: f"{a}/index/*")],
        }
    ]


def kcl_metrics(app_name: str) -> Statement:
    """KCL publishes metrics under its app name; PutMetricData has no resource-level scoping, hence `*`."""
    return {
        "Sid": "KclMetrics",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": app_name}},
    }

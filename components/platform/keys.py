"""The stack's customer-managed KMS key: every byte at rest is encrypted with it."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext

_USE_KEY = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def key_policy(partition: str, account_id: str, region: str, log_group_patterns: list[str]) -> str:
    """Account administers the key via IAM; CloudWatch Logs (for this stack's log groups only), CloudWatch alarms
    (to publish to the encrypted alarm topic) and EC2 Auto Scaling may use it directly. Instance roles get it through IAM, each only via the services it uses."""
    arn = f"arn:{partition}"
    autoscaling_role = (
        f"{arn}:iam::{account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersKeyThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"{arn}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchLogsEncryptsThisStacksLogGroups",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": _USE_KEY,
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": [
                                f"{arn}:logs:{region}:{account_id}:log-group:{pattern}"
                                for pattern in log_group_patterns
                            ]
                        }
                    },
                },
                {
                    # The stack's alarm topic is encrypted with this key; alarms publish through SNS, which
                    # needs CloudWatch allowed here (the topic policy limits publishing to this stack's alarms).
                    "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                },
                {
                    "Sid": "AutoScalingEncryptsInstanceVolumes",
                    "Effect": "Allow",
                    "Principal": {"AWS": autoscaling_role},
                    "Action": _USE_KEY,
                    "Resource": "*",
                },
                {
                    "Sid": "AutoScalingAttachesEncryptedVolumes",
                    "Effect": "Allow",
                    "Principal": {"AWS": autoscaling_role},
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ],
        },
        indent=2,
    )


@dataclass
class KeysArgs:
    context: StackContext


class Keys(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    alias_name: str

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Keys", name, None, opts)
        ctx = args.context
        key = aws.kms.Key(
            f"{name}-data",
            description=f"{ctx.prefix}: Snowplow pipeline data at rest (streams, lake, tables, logs, volumes)",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30 if ctx.protect_data else 7,
            policy=key_policy(ctx.partition, ctx.account_id, ctx.region, ctx.log_group_patterns),
            tags=ctx.tags_for(ctx.name("data")),
            opts=ctx.stateful(self),
        )
        self.alias_name = f"alias/{ctx.prefix}-data"
        aws.kms.Alias(
            f"{name}-data", name=self.alias_name, target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=self)
        )
        self.key_arn = key.arn
        self.register_outputs({"keyArn": self.key_arn, "aliasName": self.alias_name})

"""The KCL lease table of a Kinesis consumer: named exactly as the consumer's appName."""

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from stack_config.apps import KclTable


def lease_table(
    resource_name: str, ctx: StackContext, app_name: str, config: KclTable, kms_key_arn: pulumi.Input[str], parent
) -> aws.dynamodb.Table:
    provisioned = config.billing_mode == "PROVISIONED"
    return aws.dynamodb.Table(
        resource_name,
        name=app_name,
        hash_key="leaseKey",
        attributes=[aws.dynamodb.TableAttributeArgs(name="leaseKey", type="S")],
        billing_mode=config.billing_mode,
        read_capacity=config.read_capacity if provisioned else None,
        write_capacity=config.write_capacity if provisioned else None,
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=kms_key_arn),
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        deletion_protection_enabled=ctx.protect_data,
        tags=ctx.tags_for(app_name),
        # KCL 3 adds its own lease-owner index to the table at run time.
        opts=ctx.stateful(parent, ignore_changes=["globalSecondaryIndexes"]),
    )

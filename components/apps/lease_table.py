"""The KCL lease table of a Kinesis consumer: named exactly as the consumer's appName.

The pinned apps run KCL 2.7.1, which uses this one table and adds nothing to it (KCL 3's extra
`-WorkerMetricStats` / `-CoordinatorState` tables and lease-owner index do not apply).
"""

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
        opts=ctx.stateful(parent),
    )

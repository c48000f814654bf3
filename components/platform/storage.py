"""S3: the data lake the loaders write to, and the bucket the apps read their config from."""

from dataclasses import dataclass

import pulumi

from components.context import StackContext
from components.platform.bucket import SecureBucket, SecureBucketArgs, Transition
from stack_config.apps import LakeConfig


@dataclass
class StorageArgs:
    context: StackContext
    lake: LakeConfig
    kms_key_arn: pulumi.Input[str]


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:storage:Storage", name, None, opts)
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)
        self.lake = SecureBucket(
            f"{name}-lake",
            SecureBucketArgs(
                context=ctx,
                bucket_name=f"{ctx.prefix}-lake-{ctx.account_id}",
                kms_key_arn=args.kms_key_arn,
                transitions=[Transition(t.days, t.storage_class) for t in args.lake.transitions],
                noncurrent_expiration_days=args.lake.noncurrent_expiration_days,
                purpose="lake",
            ),
            opts=child,
        )
        self.config = SecureBucket(
            f"{name}-app-config",
            SecureBucketArgs(
                context=ctx,
                bucket_name=f"{ctx.prefix}-app-config-{ctx.account_id}",
                kms_key_arn=args.kms_key_arn,
                noncurrent_expiration_days=90,
                purpose="app-config",
            ),
            opts=child,
        )
        self.register_outputs({"lakeBucket": self.lake.bucket_name, "configBucket": self.config.bucket_name})

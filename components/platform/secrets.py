"""Secrets Manager secrets created by the stack, encrypted with the stack key."""

import pulumi
import pulumi_aws as aws

from components.context import StackContext


def stack_secret(
    resource_name: str,
    ctx: StackContext,
    path: str,
    description: str,
    kms_key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    value: pulumi.Input[str] | None = None,
) -> aws.secretsmanager.Secret:
    """Secret `<prefix>/<path>`; with `value`, its first version (the value stays a Pulumi secret).

    Without `value` the secret has no version until something at run time puts one (e.g. keys an app
    generates at first boot); reading it fails until then, so nothing can start with a placeholder value.
    In prod the secret is protected and recoverable for 30 days; dev deletes it at once so a destroyed
    stack can be created again under the same names.
    """
    secret = aws.secretsmanager.Secret(
        resource_name,
        name=f"{ctx.prefix}/{path}",
        description=description,
        kms_key_id=kms_key_arn,
        recovery_window_in_days=30 if ctx.protect_data else 0,
        tags=ctx.tags_for(f"{ctx.prefix}/{path}"),
        opts=ctx.stateful(parent),
    )
    if value is not None:
        aws.secretsmanager.SecretVersion(
            resource_name,
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return secret

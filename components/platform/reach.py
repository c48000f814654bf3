"""The pair of security-group rules that lets one app's instances reach one service's port, and nothing else."""

import pulumi
import pulumi_aws as aws

from components.context import StackContext


def admit_on_port(
    parent: pulumi.Resource,
    ctx: StackContext,
    name: str,
    service: str,
    target: str,
    app: str,
    app_security_group_id: pulumi.Input[str],
    target_security_group_id: pulumi.Input[str],
    port: int,
) -> None:
    """Ingress on `target`'s group from `app`'s group and egress on `app`'s group to it, on `port` only;
    `service` names what listens there ("PostgreSQL", "Redshift") in the rules' descriptions."""
    child = pulumi.ResourceOptions(parent=parent)
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-{app}",
        security_group_id=target_security_group_id,
        description=f"{service} from {app} instances",
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=app_security_group_id,
        tags=ctx.tags_for(f"{target}-from-{app}"),
        opts=child,
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-to-{app}",
        security_group_id=app_security_group_id,
        description=f"{service} to {target}",
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=target_security_group_id,
        tags=ctx.tags_for(f"{ctx.name(app)}-to-{target}"),
        opts=child,
    )

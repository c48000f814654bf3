"""A Redshift Serverless namespace and workgroup for the Redshift destination.

Data and the admin secret encrypted with the stack key; the admin password generated and kept by AWS in
Secrets Manager (`manage_admin_password`), never in the program or its state; the COPY role associated (and
the default role); connection and user logs exported to CloudWatch. The workgroup sits in the private
subnets, is not publicly accessible, routes COPY traffic through the VPC (enhanced VPC routing, so the S3
gateway endpoint and its policy apply), requires TLS, and its security group admits only the apps named
with `admit`. The namespace is protected and retained in prod.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.platform.reach import admit_on_port
from stack_config.redshift import REDSHIFT_PORT, ServerlessWarehouse

LOG_EXPORTS = ["connectionlog", "userlog"]  # not useractivitylog: query text may carry event data
CONFIG_PARAMETERS = {"require_ssl": "true"}


@dataclass
class RedshiftServerlessArgs:
    context: StackContext
    config: ServerlessWarehouse
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    kms_key_arn: pulumi.Input[str]
    copy_role_arn: pulumi.Input[str]


class RedshiftServerless(pulumi.ComponentResource):
    host: pulumi.Output[str]
    admin_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: RedshiftServerlessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:destinations:RedshiftServerless", name, None, opts)
        ctx, cfg = args.context, args.config
        self._ctx, self._name = ctx, name
        child = pulumi.ResourceOptions(parent=self)
        self.identifier = ctx.short_name("redshift", 64)

        namespace = aws.redshiftserverless.Namespace(
            f"{name}-namespace",
            namespace_name=self.identifier,
            db_name=cfg.database,
            admin_username=cfg.admin_username,
            manage_admin_password=True,
            admin_password_secret_kms_key_id=args.kms_key_arn,
            kms_key_id=args.kms_key_arn,
            iam_roles=[args.copy_role_arn],
            default_iam_role_arn=args.copy_role_arn,
            log_exports=LOG_EXPORTS,
            tags=ctx.tags_for(self.identifier),
            opts=ctx.stateful(self),
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=self.identifier,
            description=f"{self.identifier} Redshift Serverless: {REDSHIFT_PORT} from the apps that load it",
            vpc_id=args.vpc_id,
            tags=ctx.tags_for(self.identifier),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-https",
            security_group_id=sg.id,
            description="HTTPS to S3 (COPY, through the gateway endpoint) and AWS APIs",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            tags=ctx.tags_for(f"{self.identifier}-egress-https"),
            opts=child,
        )
        workgroup = aws.redshiftserverless.Workgroup(
            f"{name}-workgroup",
            namespace_name=namespace.namespace_name,
            workgroup_name=self.identifier,
            base_capacity=cfg.base_capacity,
            max_capacity=cfg.max_capacity,
            port=REDSHIFT_PORT,
            publicly_accessible=False,
            enhanced_vpc_routing=True,
            subnet_ids=args.subnet_ids,
            security_group_ids=[sg.id],
            config_parameters=[
                aws.redshiftserverless.WorkgroupConfigParameterArgs(parameter_key=k, parameter_value=v)
                for k, v in CONFIG_PARAMETERS.items()
            ],
            tags=ctx.tags_for(self.identifier),
            opts=child,
        )
        # The endpoint's name is fixed by AWS: <workgroup>.<account>.<region>.redshift-serverless.amazonaws.com
        self.host = workgroup.workgroup_name.apply(
            lambda wg: f"{wg}.{ctx.account_id}.{ctx.region}.redshift-serverless.amazonaws.com"
        )
        self.port = REDSHIFT_PORT
        self.database = cfg.database
        self.admin_secret_arn = namespace.admin_password_secret_arn
        self.security_group_id = sg.id
        self.namespace_name = namespace.namespace_name
        self.workgroup_name = workgroup.workgroup_name
        self.register_outputs(
            {"namespace": namespace.namespace_name, "workgroup": workgroup.workgroup_name, "host": self.host}
        )

    def admit(self, app: str, app_security_group_id: pulumi.Input[str]) -> None:
        """Open the Redshift port from one app's instances: ingress here, egress on the app's group."""
        admit_on_port(
            self,
            self._ctx,
            self._name,
            "Redshift",
            self.identifier,
            app,
            app_security_group_id,
            self.security_group_id,
            REDSHIFT_PORT,
        )

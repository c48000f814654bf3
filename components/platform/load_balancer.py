"""An internet-facing application load balancer in front of one app's instances.

Security group open only to an allowlist, HTTPS with a modern TLS policy and an HTTP->HTTPS redirect when a
certificate or hosted zone is configured (ACM certificate validated through DNS, alias record), invalid
headers dropped, optional access logs, and one target group on the app's port.

It is a building block, not a component: its resources are children of the app component that owns it, so
an app that adopts it keeps the resource names (and URNs) it had before.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from components.platform.bucket import SecureBucket, SecureBucketArgs

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Accounts through which ELB writes access logs in the regions opened before August 2022 (AWS's ALB access-log
# guide); later regions only know the log-delivery service principal, which every policy names as well.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "sa-east-1": "507241528517",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "eu-south-1": "635631232127",
    "me-south-1": "076674570225",
}


@dataclass(frozen=True)
class AllowedSource:
    """One CIDR that may reach the load balancer on 80 and 443."""

    cidr: pulumi.Input[str]
    ipv6: bool = False


def allowed(cidrs: Sequence[str]) -> list[AllowedSource]:
    return [AllowedSource(c, ipv6=":" in c) for c in cidrs]


@dataclass(frozen=True)
class Tls:
    """HTTPS when `certificate_arn` or `hosted_zone_id` is set; `domain` names the certificate and alias."""

    domain: str | None = None
    hosted_zone_id: str | None = None
    certificate_arn: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.certificate_arn or self.hosted_zone_id)


@dataclass(frozen=True)
class HealthCheck:
    path: str
    interval: int = 15
    healthy_threshold: int = 2
    matcher: str = "200"


@dataclass
class LoadBalancerArgs:
    context: StackContext
    app: str
    """Physical name part, e.g. `collector`: names the ALB, target group, listeners and log prefix."""
    label: str
    """Human name for descriptions, e.g. `Collector`."""
    clients: str
    """Who the allowlist is for, e.g. `Trackers and webhooks`."""
    config_key: str
    """The top-level `snowplow:` key of its settings: a URL built from its domain is as secret as that key."""
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[Sequence[str]]
    sources: list[AllowedSource]
    port: int
    health: HealthCheck
    tls: Tls
    access_logs: bool = False
    access_logs_bucket: str = "alb-logs"
    """Middle of the log bucket name `<prefix>-<this>-<account id>` (ELB can only deliver to SSE-S3 buckets;
    the policy pack recognises such log sinks by the load balancer that writes into them)."""
    log_expiration_days: int = 30
    deregistration_delay: int = 30


def log_delivery_statement(bucket_arn: str, prefix: str, account_id: str, region: str) -> dict:
    principals: dict = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    if region in ELB_LOG_ACCOUNTS:
        principals["AWS"] = f"arn:aws:iam::{ELB_LOG_ACCOUNTS[region]}:root"
    return {
        "Sid": "ElbWritesAccessLogs",
        "Effect": "Allow",
        "Principal": principals,
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/{prefix}/AWSLogs/{account_id}/*",
    }


class PublicLoadBalancer:
    """The ALB, its security group, listeners and target group, registered as children of `parent`."""

    security_group_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    url: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]  # the `LoadBalancer` dimension of its CloudWatch metrics
    target_group_arn_suffix: pulumi.Output[str]  # the `TargetGroup` dimension

    def __init__(self, name: str, args: LoadBalancerArgs, parent: pulumi.Resource):
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=parent)
        ctx = args.context
        physical = ctx.name(args.app)

        sg = aws.ec2.SecurityGroup(
            f"{name}-alb-sg",
            name=f"{physical}-alb",
            description=f"{args.label} load balancer: HTTP(S) from the configured allowlist",
            vpc_id=args.vpc_id,
            tags=ctx.tags_for(f"{physical}-alb"),
            opts=self._child,
        )
        for port in (80, 443):
            for i, source in enumerate(args.sources):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-in-{port}-{i}",
                    security_group_id=sg.id,
                    description=f"{args.clients} on {port}",
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=None if source.ipv6 else source.cidr,
                    cidr_ipv6=source.cidr if source.ipv6 else None,
                    tags=ctx.tags_for(f"{physical}-alb-in-{port}"),
                    opts=self._child,
                )

        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=ctx.short_name(args.app, 32),
            load_balancer_type="application",
            internal=False,
            security_groups=[sg.id],
            subnets=args.public_subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=ctx.protect_data,
            access_logs=self._access_logs() if args.access_logs else None,
            tags=ctx.tags_for(physical),
            opts=self._child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            name=ctx.short_name(args.app, 32),
            port=args.port,
            protocol="HTTP",
            target_type="instance",
            vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=args.health.path,
                port=str(args.port),
                protocol="HTTP",
                matcher=args.health.matcher,
                interval=args.health.interval,
                healthy_threshold=args.health.healthy_threshold,
            ),
            tags=ctx.tags_for(physical),
            opts=self._child,
        )
        self._listeners(alb, target_group)

        self.security_group_id = sg.id
        self.target_group_arn = target_group.arn
        self.dns_name = alb.dns_name
        self.arn_suffix = alb.arn_suffix
        self.target_group_arn_suffix = target_group.arn_suffix
        tls = args.tls
        if tls.domain and tls.enabled:
            self.url = pulumi.Output.from_input(args.context.from_config(args.config_key, f"https://{tls.domain}"))
        else:
            self.url = pulumi.Output.concat("https://" if tls.enabled else "http://", alb.dns_name)

    def forward_to(self, instances_security_group_id: pulumi.Input[str]) -> None:
        """Let the load balancer reach the app's instances, and nothing else."""
        args = self._args
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-alb-egress",
            security_group_id=self.security_group_id,
            description=f"Forward to {args.app} instances only",
            ip_protocol="tcp",
            from_port=args.port,
            to_port=args.port,
            referenced_security_group_id=instances_security_group_id,
            tags=args.context.tags_for(f"{args.context.name(args.app)}-alb-egress"),
            opts=self._child,
        )

    def _access_logs(self) -> aws.lb.LoadBalancerAccessLogsArgs:
        args, ctx = self._args, self._args.context
        # S3 names stop at 63 characters; 13 go to `-<account id>`.
        bucket_name = f"{ctx.short_name(args.access_logs_bucket, 63 - 13)}-{ctx.account_id}"
        bucket = SecureBucket(
            f"{self._name}-access-logs",
            SecureBucketArgs(
                context=ctx,
                bucket_name=bucket_name,
                kms_key_arn=None,  # ELB access logs can only be delivered to SSE-S3 buckets
                transitions=[],
                expiration_days=args.log_expiration_days,
                extra_statements=[
                    log_delivery_statement(
                        f"arn:{ctx.partition}:s3:::{bucket_name}", args.app, ctx.account_id, ctx.region
                    )
                ],
                purpose="alb-access-logs",
            ),
            opts=self._child,
        )
        return aws.lb.LoadBalancerAccessLogsArgs(bucket=bucket.bucket_name, prefix=args.app, enabled=True)

    def _certificate_arn(self) -> pulumi.Input[str]:
        """The configured certificate, or one issued here and validated through the hosted zone."""
        tls, ctx, name = self._args.tls, self._args.context, self._name
        if tls.certificate_arn:
            return tls.certificate_arn
        certificate = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=tls.domain,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=ctx.tags_for(tls.domain),
            opts=self._child,
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-cert-validation",
            zone_id=tls.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=self._child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-cert-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=self._child,
        )
        return validation.certificate_arn

    def _listeners(self, alb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup) -> None:
        args, ctx, name = self._args, self._args.context, self._name
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)]
        if not args.tls.enabled:
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=forward,
                tags=ctx.tags_for(ctx.name(f"{args.app}-http")),
                opts=self._child,
            )
            return
        aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=self._certificate_arn(),
            default_actions=forward,
            tags=ctx.tags_for(ctx.name(f"{args.app}-https")),
            opts=self._child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=ctx.tags_for(ctx.name(f"{args.app}-http")),
            opts=self._child,
        )
        if args.tls.hosted_zone_id:
            aws.route53.Record(
                f"{name}-alias",
                zone_id=args.tls.hosted_zone_id,
                name=args.tls.domain,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True)
                ],
                opts=self._child,
            )

"""VPC: either built here (public + private subnets, NAT, gateway endpoints) or adopted."""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import StackContext
from stack_config import ConfigError
from stack_config.platform import CreateNetwork, ExistingNetwork, NetworkConfig


@dataclass(frozen=True)
class NetworkPlan:
    """The network config checked against the account: AZs to use (a created VPC) or subnets to adopt."""

    create: CreateNetwork | None
    existing: ExistingNetwork | None
    az_names: tuple[str, ...]


def plan_network(config: NetworkConfig) -> NetworkPlan:
    """Look up AZs / existing subnets and reject what cannot work, before anything is registered."""
    if config.create is not None:
        available = aws.get_availability_zones(state="available").names
        if len(available) < config.create.azs:
            raise ConfigError(
                [
                    f"snowplow:network.create.azs: the region has {len(available)} available AZs (got {config.create.azs})"
                ]
            )
        return NetworkPlan(config.create, None, tuple(available[: config.create.azs]))

    existing = config.existing
    problems = []
    for key, ids in (
        ("publicSubnetIds", existing.public_subnet_ids),
        ("privateSubnetIds", existing.private_subnet_ids),
    ):
        try:
            subnets = [aws.ec2.get_subnet(id=subnet_id) for subnet_id in ids]
        except Exception as err:  # noqa: BLE001 - the provider reports a missing subnet as a generic invoke error
            problems.append(f"snowplow:network.existing.{key}: cannot look up {ids} ({err})")
            continue
        foreign = [s.id for s in subnets if s.vpc_id != existing.vpc_id]
        zones = {s.availability_zone for s in subnets}
        if foreign:
            problems.append(f"snowplow:network.existing.{key}: {foreign} are not in {existing.vpc_id}")
        if len(zones) < 2:
            problems.append(
                f"snowplow:network.existing.{key}: {ids} are all in {sorted(zones)}; "
                "load balancers and HA need subnets in at least two AZs"
            )
    if problems:
        raise ConfigError(problems)
    return NetworkPlan(None, existing, ())  # the adopted subnets' zones are checked above; nothing is laid out


@dataclass(frozen=True)
class GatewayAccess:
    """What the private subnets may reach through the S3 and DynamoDB gateway endpoints (the instance roles
    narrow it further per app). The ALB's access-log bucket is written by ELB, not through the endpoint."""

    buckets: Sequence[pulumi.Input[str]]  # bucket ARNs of the stack: objects read and written by the apps
    read_only_objects: Sequence[str] = ()  # object ARN patterns read with the instances' credentials
    public_objects: Sequence[str] = ()  # objects read anonymously over https (e.g. Snowplow's hosted assets)
    tables: Sequence[pulumi.Input[str]] = ()  # DynamoDB table ARNs of the stack
    table_actions: Sequence[str] = ()  # what the apps do on those tables
    streams: Sequence[pulumi.Input[str]] = ()  # Kinesis stream ARNs of the stack (interface endpoint, if any)
    stream_actions: Sequence[str] = ()  # what the apps do on those streams


STACK_BUCKET_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]


def s3_endpoint_policy(region: str, account_id: str, access: GatewayAccess) -> pulumi.Output[str]:
    own = {"StringEquals": {"aws:PrincipalAccount": account_id}}
    statements = [
        {
            "Sid": "StackBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": STACK_BUCKET_ACTIONS,
            "Resource": [arn for bucket in access.buckets for arn in (bucket, pulumi.Output.concat(bucket, "/*"))],
            "Condition": own,
        },
        {
            # dnf reads the Amazon Linux 2023 repositories from AWS-owned buckets, and Enrich fetches https
            # assets, both anonymously.
            "Sid": "AmazonLinuxRepositoriesAndPublicAssets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::al2023-repos-{region}-*/*", *sorted(set(access.public_objects))],
        },
    ]
    if access.read_only_objects:
        statements.append(
            {
                "Sid": "EnrichmentAssets",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": sorted(set(access.read_only_objects)),
                "Condition": own,
            }
        )
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def kinesis_endpoint_policy(account_id: str, access: GatewayAccess) -> pulumi.Output[str]:
    statement = {
        "Sid": "StackStreams",
        "Effect": "Allow",
        "Principal": "*",
        "Action": list(access.stream_actions),
        "Resource": list(access.streams),
        "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
    }
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


def dynamodb_endpoint_policy(account_id: str, access: GatewayAccess) -> pulumi.Output[str]:
    statement = {
        "Sid": "StackTables",
        "Effect": "Allow",
        "Principal": "*",
        "Action": list(access.table_actions),
        "Resource": list(access.tables),
        "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
    }
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class NetworkArgs:
    context: StackContext
    plan: NetworkPlan


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    nat_public_ips: list[pulumi.Output[str]]
    """Public IPs of the NAT gateways created here (empty for an adopted VPC, whose NAT the stack cannot see)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:pipeline:Network", name, None, opts)
        self._ctx = args.context
        self._name = name
        self.az_names = list(args.plan.az_names)
        self.gateway_endpoint_ids: dict[str, pulumi.Output[str]] = {}
        self.interface_endpoint_ids: dict[str, pulumi.Output[str]] = {}
        if args.plan.existing is not None:
            existing = args.plan.existing
            self.vpc_id = pulumi.Output.from_input(existing.vpc_id)
            self.public_subnet_ids = pulumi.Output.from_input(list(existing.public_subnet_ids))
            self.private_subnet_ids = pulumi.Output.from_input(list(existing.private_subnet_ids))
            self.nat_public_ips = []
        else:
            self._create(name, args.plan.create)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _tags(self, thing: str) -> dict[str, str]:
        return self._ctx.tags_for(self._ctx.name(thing))

    def _create(self, name: str, spec: CreateNetwork) -> None:
        ctx = self._ctx
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=spec.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=self._tags("vpc"),
            opts=self._opts(),
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, tags=self._tags("default-deny"), opts=self._opts()
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=self._tags("igw"), opts=self._opts())
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=self._tags("public"),
            opts=self._opts(),
        )
        public_cidrs, private_cidrs = spec.subnet_cidrs()
        public, private = [], []
        for i, az in enumerate(self.az_names):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{az}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**self._tags(f"public-{az}"), "tier": "public"},
                opts=self._opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{az}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=self._opts()
            )
            public.append(subnet)
            private.append(
                aws.ec2.Subnet(
                    f"{name}-private-{az}",
                    vpc_id=vpc.id,
                    cidr_block=private_cidrs[i],
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={**self._tags(f"private-{az}"), "tier": "private"},
                    opts=self._opts(),
                )
            )

        nats, self.nat_public_ips = [], []
        for i in range(spec.nat_gateways):
            az = self.az_names[i]
            eip = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags=self._tags(f"nat-{az}"), opts=self._opts())
            self.nat_public_ips.append(eip.public_ip)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{az}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public[i].id,
                    tags=self._tags(f"nat-{az}"),
                    opts=self._opts(depends_on=[igw]),
                )
            )

        private_rts = []
        for i, az in enumerate(self.az_names):
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{az}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[i % len(nats)].id)],
                tags=self._tags(f"private-{az}"),
                opts=self._opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{az}", subnet_id=private[i].id, route_table_id=rt.id, opts=self._opts()
            )
            private_rts.append(rt)

        for service in ("s3", "dynamodb"):
            self.gateway_endpoint_ids[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{ctx.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in private_rts],
                tags=self._tags(f"{service}-endpoint"),
                opts=self._opts(),
            ).id

        if spec.interface_endpoints:
            self._interface_endpoints(name, spec, vpc, private)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])

    def _interface_endpoints(self, name: str, spec: CreateNetwork, vpc, private) -> None:
        """AWS APIs reached inside the VPC (private DNS), not through NAT: chosen where the NAT processing they
        replace costs more than the endpoints' hours (stack_config.capacity.cheaper_interface_endpoints)."""
        ctx = self._ctx
        sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            name=ctx.name("endpoints"),
            description="Interface endpoints: HTTPS from the VPC",
            vpc_id=vpc.id,
            tags=self._tags("endpoints"),
            opts=self._opts(),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=sg.id,
            description="HTTPS from the stack's VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=spec.cidr,
            tags=self._tags("endpoints-https"),
            opts=self._opts(),
        )
        for service in spec.interface_endpoints:
            self.interface_endpoint_ids[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{ctx.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=[subnet.id for subnet in private],
                security_group_ids=[sg.id],
                private_dns_enabled=True,
                tags=self._tags(f"{service}-endpoint"),
                opts=self._opts(),
            ).id

    def restrict_gateway_endpoints(self, access: GatewayAccess) -> None:
        """Endpoint policies once the buckets, tables and streams exist (the gateway endpoints and the Kinesis
        interface endpoint); an adopted VPC's endpoints are left alone."""
        policies = {
            "s3": lambda: s3_endpoint_policy(self._ctx.region, self._ctx.account_id, access),
            "dynamodb": lambda: dynamodb_endpoint_policy(self._ctx.account_id, access),
            "kinesis-streams": lambda: kinesis_endpoint_policy(self._ctx.account_id, access),
        }
        endpoints = {**self.gateway_endpoint_ids, **self.interface_endpoint_ids}
        for service, endpoint_id in endpoints.items():
            if service not in policies:
                continue
            aws.ec2.VpcEndpointPolicy(
                f"{self._name}-{service}-endpoint-policy",
                vpc_endpoint_id=endpoint_id,
                policy=policies[service](),
                opts=self._opts(),
            )

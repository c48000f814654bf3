"""Pulumi mocks that answer like AWS: realistic ids, ARNs, DNS names and invoke results."""

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"

# type token -> (ARN service, ARN resource template, physical-id style)
# In templates: {name} is the physical name, {id} the generated id.
_ARNS: dict[str, tuple[str, str, str]] = {
    "aws:ec2/vpc:Vpc": ("ec2", "vpc/{id}", "vpc"),
    "aws:ec2/subnet:Subnet": ("ec2", "subnet/{id}", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": ("ec2", "internet-gateway/{id}", "igw"),
    "aws:ec2/eip:Eip": ("ec2", "elastic-ip/{id}", "eipalloc"),
    "aws:ec2/natGateway:NatGateway": ("ec2", "natgateway/{id}", "nat"),
    "aws:ec2/routeTable:RouteTable": ("ec2", "route-table/{id}", "rtb"),
    "aws:ec2/route:Route": ("ec2", "route/{id}", "r-rtb"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("ec2", "route-table-association/{id}", "rtbassoc"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("ec2", "vpc-endpoint/{id}", "vpce"),
    "aws:ec2/securityGroup:SecurityGroup": ("ec2", "security-group/{id}", "sg"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("ec2", "security-group/{id}", "sg"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("ec2", "security-group-rule/{id}", "sgr"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("ec2", "security-group-rule/{id}", "sgr"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("ec2", "launch-template/{id}", "lt"),
    "aws:ec2/flowLog:FlowLog": ("ec2", "vpc-flow-log/{id}", "fl"),
    "aws:kms/key:Key": ("kms", "key/{id}", "uuid"),
    "aws:kms/alias:Alias": ("kms", "{name}", "name"),
    "aws:kinesis/stream:Stream": ("kinesis", "stream/{name}", "arn"),
    "aws:dynamodb/table:Table": ("dynamodb", "table/{name}", "name"),
    "aws:s3/bucket:Bucket": ("s3", "{name}", "name"),
    "aws:iam/role:Role": ("iam", "role/{name}", "name"),
    "aws:iam/policy:Policy": ("iam", "policy/{name}", "arn"),
    "aws:iam/instanceProfile:InstanceProfile": ("iam", "instance-profile/{name}", "name"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}", "name"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}", "name"),
    "aws:secretsmanager/secret:Secret": ("secretsmanager", "secret:{name}-AbCdEf", "arn"),
    "aws:ssm/parameter:Parameter": ("ssm", "parameter{name}", "name"),
    "aws:sqs/queue:Queue": ("sqs", "{name}", "url"),
    "aws:sns/topic:Topic": ("sns", "{name}", "arn"),
    "aws:lb/loadBalancer:LoadBalancer": ("elasticloadbalancing", "loadbalancer/app/{name}/{hex}", "arn"),
    "aws:lb/targetGroup:TargetGroup": ("elasticloadbalancing", "targetgroup/{name}/{hex}", "arn"),
    "aws:lb/listener:Listener": ("elasticloadbalancing", "listener/app/{name}/{hex}/{hex2}", "arn"),
    "aws:acm/certificate:Certificate": ("acm", "certificate/{uuid}", "arn"),
    "aws:autoscaling/group:Group": ("autoscaling", "autoScalingGroup:{uuid}:autoScalingGroupName/{name}", "name"),
    "aws:autoscaling/policy:Policy": ("autoscaling", "scalingPolicy:{uuid}:autoScalingGroupName/{name}", "name"),
    "aws:rds/instance:Instance": ("rds", "db:{name}", "name"),
    "aws:redshiftserverless/namespace:Namespace": ("redshift-serverless", "namespace/{uuid}", "name"),
    "aws:redshiftserverless/workgroup:Workgroup": ("redshift-serverless", "workgroup/{uuid}", "name"),
    "aws:ecs/cluster:Cluster": ("ecs", "cluster/{name}", "arn"),
    "aws:ecs/taskDefinition:TaskDefinition": ("ecs", "task-definition/{name}:1", "arn"),
    "aws:scheduler/scheduleGroup:ScheduleGroup": ("scheduler", "schedule-group/{name}", "name"),
    "aws:scheduler/schedule:Schedule": ("scheduler", "schedule/default/{name}", "name"),
    "aws:athena/workgroup:Workgroup": ("athena", "workgroup/{name}", "name"),
    "aws:glue/catalogDatabase:CatalogDatabase": ("glue", "database/{name}", "name"),
    "aws:opensearch/domain:Domain": ("es", "domain/{name}", "arn"),
}
_GLOBAL_SERVICES = {"iam", "s3"}
# Physical-name inputs per type (the rest fall back to `name`, then a Pulumi-style suffixed name).
_NAME_INPUTS = {
    "aws:autoscaling/group:Group": "name",
    "aws:iam/instanceProfile:InstanceProfile": "name",
    "aws:rds/instance:Instance": "identifier",
    "aws:redshiftserverless/namespace:Namespace": "namespaceName",
    "aws:redshiftserverless/workgroup:Workgroup": "workgroupName",
    "aws:ecs/taskDefinition:TaskDefinition": "family",
    "aws:opensearch/domain:Domain": "domainName",
}


# A sample of EC2's catalogue for offline runs: type -> (memory MiB, architecture).
INSTANCE_TYPES = {
    **{
        f"t3a.{s}": (m, "x86_64")
        for s, m in {"micro": 1024, "small": 2048, "medium": 4096, "large": 8192, "xlarge": 16384}.items()
    },
    **{
        f"t3.{s}": (m, "x86_64")
        for s, m in {"micro": 1024, "small": 2048, "medium": 4096, "large": 8192, "xlarge": 16384}.items()
    },
    **{
        f"t4g.{s}": (m, "arm64")
        for s, m in {"micro": 1024, "small": 2048, "medium": 4096, "large": 8192, "xlarge": 16384}.items()
    },
    **{
        f"{f}.{s}": (m, a)
        for f, a in (("c6i", "x86_64"), ("c7i", "x86_64"), ("c6g", "arm64"), ("c7g", "arm64"))
        for s, m in {"large": 4096, "xlarge": 8192, "2xlarge": 16384, "4xlarge": 32768}.items()
    },
    **{
        f"{f}.{s}": (m, a)
        for f, a in (("m6i", "x86_64"), ("m7i", "x86_64"), ("m6g", "arm64"), ("m7g", "arm64"))
        for s, m in {"large": 8192, "xlarge": 16384, "2xlarge": 32768, "4xlarge": 65536}.items()
    },
    **{
        f"{f}.{s}": (m, a)
        for f, a in (("r6i", "x86_64"), ("r7g", "arm64"))
        for s, m in {"large": 16384, "xlarge": 32768, "2xlarge": 65536}.items()
    },
}


_DIRECTIONS = (("north", "n"), ("south", "s"), ("east", "e"), ("west", "w"), ("central", "c"))


def _zone_id_prefix(region: str) -> str:
    """The prefix of AWS's zone ids in a region: eu-west-1 -> euw1, ap-southeast-2 -> apse2."""
    area, direction, number = region.split("-")
    for word, letter in _DIRECTIONS:
        direction = direction.replace(word, letter)
    return f"{area}{direction}{number}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


class SnowplowMocks(pulumi.runtime.Mocks):
    """Deterministic AWS-like answers for resources and invokes."""

    def __init__(
        self,
        region: str,
        subnet_azs: dict[str, str] | None = None,
        subnet_vpcs: dict[str, str] | None = None,
        default_vpc_id: str = "vpc-0a1b2c3d4e5f60718",
        missing_subnets: frozenset[str] = frozenset(),
    ):
        """Subnets lookups answer from `subnet_azs`/`subnet_vpcs`, else round-robin AZs in `default_vpc_id`."""
        self.region = region
        self.subnet_azs = dict(subnet_azs or {})
        self.subnet_vpcs = dict(subnet_vpcs or {})
        self.default_vpc_id = default_vpc_id
        self.missing_subnets = missing_subnets
        self.invoke_handlers: dict[str, Callable[[dict], dict]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": self._caller_identity,
            "aws:index/getPartition:getPartition": lambda _: {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
                "id": "aws",
            },
            "aws:index/getRegion:getRegion": lambda _: {
                "name": self.region,
                "region": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
                "description": self.region,
            },
            "aws:index/getAvailabilityZones:getAvailabilityZones": self._availability_zones,
            "aws:ec2/getSubnet:getSubnet": self._subnet,
            "aws:ec2/getAmi:getAmi": self._ami,
            "aws:ec2/getInstanceType:getInstanceType": self._instance_type,
        }

    # --- invokes -------------------------------------------------------------------------
    def _caller_identity(self, _args: dict) -> dict:
        return {
            "accountId": ACCOUNT_ID,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preview",
            "userId": "AIDAPREVIEWUSER0000000",
            "id": ACCOUNT_ID,
        }

    def _availability_zones(self, _args: dict) -> dict:
        names = [f"{self.region}{letter}" for letter in "abc"]
        return {
            "names": names,
            "zoneIds": [f"{_zone_id_prefix(self.region)}-az{i + 1}" for i in range(len(names))],
            "id": self.region,
            "state": "available",
            "groupNames": [self.region],
        }

    def _subnet(self, args: dict) -> dict:
        subnet_id = args["id"]  # the program looks subnets up by id only
        if subnet_id in self.missing_subnets:
            return {}, [("id", f"no matching EC2 Subnet found for {subnet_id}")]
        if subnet_id not in self.subnet_azs:
            letter = "abc"[len(self.subnet_azs) % 3]
            self.subnet_azs[subnet_id] = f"{self.region}{letter}"
        return {
            "id": subnet_id,
            "availabilityZone": self.subnet_azs[subnet_id],
            "vpcId": self.subnet_vpcs.get(subnet_id, self.default_vpc_id),
            "cidrBlock": "10.0.0.0/20",
            "arn": self._arn("ec2", f"subnet/{subnet_id}"),
        }

    def _ami(self, args: dict) -> dict:
        arch = next((f["values"][0] for f in args.get("filters", []) if f["name"] == "architecture"), "x86_64")
        seed = _digest("ami", self.region, arch)
        return {
            "id": f"ami-{seed[:17]}",
            "imageId": f"ami-{seed[:17]}",
            "architecture": arch,
            "name": f"al2023-ami-2023.9.20261110.0-kernel-6.12-{arch}",
            "ownerId": "137112412989",
            "rootDeviceName": "/dev/xvda",
        }

    def _instance_type(self, args: dict) -> dict:
        instance_type = args["instanceType"]
        if instance_type not in INSTANCE_TYPES:
            return {}, [("instanceType", f"no EC2 Instance Type Offering found for {instance_type}")]
        memory, arch = INSTANCE_TYPES[instance_type]
        return {
            "id": instance_type,
            "instanceType": instance_type,
            "memorySize": memory,
            "supportedArchitectures": [arch],
        }

    def call(self, args: pulumi.runtime.MockCallArgs):
        handler = self.invoke_handlers.get(args.token)
        if handler is None:
            raise NotImplementedError(f"offline mocks have no answer for invoke {args.token}")
        return handler(args.args)

    # --- resources -----------------------------------------------------------------------
    def _arn(self, service: str, resource: str) -> str:
        region = "" if service in _GLOBAL_SERVICES else self.region
        account = "" if service == "s3" else ACCOUNT_ID
        return f"arn:aws:{service}:{region}:{account}:{resource}"

    def _physical_name(self, args: pulumi.runtime.MockResourceArgs) -> str:
        inputs = args.inputs
        for key in (_NAME_INPUTS.get(args.typ, "name"), "bucket", "functionName"):
            if isinstance(inputs.get(key), str) and inputs[key]:
                return inputs[key]
        prefix = inputs.get("namePrefix") or inputs.get("bucketPrefix")
        return f"{prefix or args.name + '-'}{_digest(args.typ, args.name)[:7]}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs: dict[str, Any] = dict(args.inputs)
        seed = _digest(args.typ, args.name)
        name = self._physical_name(args)
        service, template, id_style = _ARNS.get(args.typ, (args.typ.split(":")[1].split("/")[0], "{name}", "name"))
        uid = str(uuid.UUID(seed[:32]))
        resource = template.format(name=name, id="{id}", hex=seed[:16], hex2=seed[16:32], uuid=uid)
        physical_id = {
            "uuid": uid,
            "name": name,
            "arn": None,
            "url": f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}",
        }.get(id_style, f"{id_style}-{seed[:17]}")
        arn = self._arn(service, resource.replace("{id}", physical_id or ""))
        physical_id = physical_id or arn
        outputs.setdefault("arn", arn)
        outputs.setdefault("name", name)
        outputs["id"] = physical_id
        extra = getattr(self, "_outputs_" + args.typ.split(":")[-1], None)
        if extra is not None:
            outputs.update(extra(args, outputs, seed))
        return [physical_id, outputs]

    def _outputs_Schedule(self, args, outputs, seed):
        group = args.inputs.get("groupName") or "default"
        return {"arn": self._arn("scheduler", f"schedule/{group}/{outputs['name']}"), "groupName": group}

    def _outputs_TaskDefinition(self, args, outputs, seed):
        return {"revision": 1, "arnWithoutRevision": outputs["arn"].rsplit(":", 1)[0]}

    def _outputs_Key(self, args, outputs, seed):
        return {"keyId": outputs["id"]}

    def _outputs_Domain(self, args, outputs, seed):
        """An OpenSearch Service domain in a VPC: its endpoint is `vpc-<name>-<id>.<region>.es.amazonaws.com`."""
        name = outputs["name"]
        return {
            "domainId": f"{ACCOUNT_ID}/{name}",
            "endpoint": f"vpc-{name}-{seed[:26]}.{self.region}.es.amazonaws.com",
        }

    def _outputs_Alias(self, args, outputs, seed):
        return {"targetKeyArn": self._arn("kms", "key/" + str(uuid.UUID(seed[:32])))}

    def _outputs_Vpc(self, args, outputs, seed):
        return {
            "defaultSecurityGroupId": f"sg-{seed[17:34]}",
            "defaultRouteTableId": f"rtb-{seed[17:34]}",
            "mainRouteTableId": f"rtb-{seed[17:34]}",
            "ownerId": ACCOUNT_ID,
        }

    def _outputs_NatGateway(self, args, outputs, seed):
        return {"publicIp": f"203.0.113.{int(seed[:2], 16) % 250 + 1}", "privateIp": "10.40.0.10"}

    def _outputs_Eip(self, args, outputs, seed):
        return {"allocationId": outputs["id"], "publicIp": f"198.51.100.{int(seed[:2], 16) % 250 + 1}"}

    def _outputs_VpcEndpoint(self, args, outputs, seed):
        return {"prefixListId": f"pl-{seed[:8]}"}

    def _outputs_LoadBalancer(self, args, outputs, seed):
        name = outputs["name"]
        return {
            "dnsName": f"{name}-{int(seed[:8], 16)}.{self.region}.elb.amazonaws.com",
            "zoneId": "Z32O12XQLNTSW2",
            "arnSuffix": outputs["arn"].split(":loadbalancer/")[-1],
        }

    def _outputs_TargetGroup(self, args, outputs, seed):
        return {"arnSuffix": outputs["arn"].split(":")[-1]}

    def _outputs_Bucket(self, args, outputs, seed):
        name = outputs["id"]
        return {
            "bucket": name,
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            "region": self.region,
        }

    def _outputs_LaunchTemplate(self, args, outputs, seed):
        return {"latestVersion": 1, "defaultVersion": 1}

    def _outputs_Certificate(self, args, outputs, seed):
        domain = args.inputs.get("domainName", "example.com")
        return {
            "domainValidationOptions": [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{seed[:32]}.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{seed[32:64]}.acm-validations.aws.",
                }
            ],
            "status": "ISSUED",
        }

    def _outputs_Instance(self, args, outputs, seed):
        if args.typ != "aws:rds/instance:Instance":
            return {}
        host = f"{outputs['id']}.c{seed[:10]}.{self.region}.rds.amazonaws.com"
        return {"address": host, "endpoint": f"{host}:{outputs.get('port', 5432)}", "resourceId": f"db-{seed[:26]}"}

    # pulumi-random: deterministic stand-ins (the engine masks them as secrets where the provider does)
    def _outputs_Namespace(self, args, outputs, seed):
        if args.typ != "aws:redshiftserverless/namespace:Namespace" or not args.inputs.get("manageAdminPassword"):
            return {}
        # Redshift names the secret it manages after the namespace: redshift!<namespace>-<admin user>
        admin = args.inputs.get("adminUsername", "admin")
        admin = admin["value"] if isinstance(admin, dict) else admin  # a secret input arrives wrapped
        name = f"redshift!{outputs['namespaceName']}-{admin}"
        return {"adminPasswordSecretArn": self._arn("secretsmanager", f"secret:{name}-AbCdEf")}

    def _outputs_RandomPassword(self, args, outputs, seed):
        return {"result": f"mock{seed[:36]}", "bcryptHash": f"$2a$10${seed[:53]}"}

    def _outputs_RandomUuid(self, args, outputs, seed):
        return {"result": str(uuid.UUID(seed[32:64]))}

    def _outputs_RandomId(self, args, outputs, seed):
        return {
            "hex": seed[: 2 * int(args.inputs.get("byteLength", 4))],
            "b64Url": seed[:6],
            "dec": str(int(seed[:8], 16)),
        }

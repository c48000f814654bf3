"""Cost-allocation and ownership tags on every taggable resource."""

from pulumi_policy import Severity
from snowplow_policy_util import (
    MANDATORY,
    UNKNOWN,
    provider_default_tags,
    resource_policy,
    string_list,
    tag_map,
)

REQUIRED_TAGS = ["project", "stack", "environment"]

# Types that accept tags: a missing `tags` input on these is a violation. Any other resource whose
# inputs contain a `tags` key is checked too.
TAGGABLE_TYPES = [
    "aws:s3/bucket:Bucket",
    "aws:kinesis/stream:Stream",
    "aws:kms/key:Key",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/instance:Instance",
    "aws:ebs/volume:Volume",
    "aws:dynamodb/table:Table",
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/listener:Listener",
    "aws:secretsmanager/secret:Secret",
    "aws:autoscaling/group:Group",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:sqs/queue:Queue",
    "aws:sns/topic:Topic",
    "aws:ssm/parameter:Parameter",
    "aws:opensearch/domain:Domain",
    "aws:redshift/cluster:Cluster",
    "aws:redshiftserverless/namespace:Namespace",
    "aws:redshiftserverless/workgroup:Workgroup",
]


def check_required_tags(args, report, cfg):
    if args.resource_type.startswith("pulumi:") or args.resource_type in cfg["exemptTypes"]:
        return
    has_tags_input = "tags" in args.props
    if not has_tags_input and args.resource_type not in TAGGABLE_TYPES + cfg["additionalTaggableTypes"]:
        return
    tags = {**provider_default_tags(args.provider), **tag_map(args.props.get("tags"))}
    missing = [k for k in cfg["requiredTags"] if k not in tags or (tags[k] is not UNKNOWN and not tags[k])]
    if missing:
        report(
            f"'{args.name}' ({args.resource_type}) lacks required tags {missing}; add them to `tags` "
            "(the program's tags_for()/stack tags) or to the provider's default_tags."
        )


POLICIES = [
    resource_policy(
        "aws-resource-require-tags",
        "Every taggable AWS resource carries the required tags (project, stack, environment).",
        None,
        check_required_tags,
        level=MANDATORY,
        config={
            "requiredTags": string_list(REQUIRED_TAGS, "Tag keys every taggable resource must carry (non-empty)."),
            "additionalTaggableTypes": string_list([], "More resource types on which missing `tags` is a violation."),
            "exemptTypes": string_list([], "Resource types never checked."),
        },
        severity=Severity.LOW,
    ),
]

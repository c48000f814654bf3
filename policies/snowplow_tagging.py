"""Cost-allocation and ownership tags on every taggable resource: every type whose SDK inputs include `tags`."""

from pulumi_policy import Severity
from snowplow_aws_types import TAGGABLE
from snowplow_policy_util import (
    MANDATORY,
    UNKNOWN,
    provider_default_tags,
    resource_policy,
    string_list,
    tag_map,
)

REQUIRED_TAGS = ["project", "stack", "environment"]


def check_required_tags(args, report, cfg):
    if args.resource_type in cfg["exemptTypes"]:
        return
    has_tags_input = "tags" in args.props
    if (
        not has_tags_input
        and args.resource_type not in TAGGABLE
        and args.resource_type not in cfg["additionalTaggableTypes"]
    ):
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

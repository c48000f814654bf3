"""What every component needs to know about the stack it is part of."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class StackContext:
    """Naming, tagging and data-protection rules shared by all components, and the account it deploys into."""

    prefix: str
    region: str
    account_id: str
    partition: str
    environment: str
    tags: Mapping[str, str] = field(default_factory=dict)
    protect_data: bool = False
    secret_keys: frozenset[str] = frozenset()  # top-level `snowplow:` keys set with --secret

    def from_config(self, key: str, value: pulumi.Input) -> pulumi.Input:
        """`value` rendered from config key `key`: a secret Output when that key was set with --secret."""
        return pulumi.Output.secret(value) if key in self.secret_keys else value

    def name(self, thing: str) -> str:
        """Physical name `<project>-<stack>-<thing>`."""
        return f"{self.prefix}-{thing}"

    def log_group_name(self, thing: str) -> str:
        """CloudWatch log group of an app's instances; `log_group_patterns` match every one of this stack."""
        return f"/aws/ec2/{self.name(thing)}"

    def task_log_group_name(self, thing: str) -> str:
        """CloudWatch log group of an ECS task of this stack (e.g. the modeling task)."""
        return f"/aws/ecs/{self.name(thing)}"

    def database_log_group_name(self, identifier: str, kind: str) -> str:
        """Where RDS exports log `kind` of the stack's database `identifier` (which starts with the prefix)."""
        return f"/aws/rds/instance/{identifier}/{kind}"

    def search_log_group_name(self, domain: str, kind: str) -> str:
        """Where OpenSearch Service publishes log `kind` of the stack's domain `domain` (which starts with the prefix)."""
        return f"/aws/opensearch/{domain}/{kind}"

    @property
    def log_group_patterns(self) -> list[str]:
        """Every log group this stack creates: its app instances', its ECS tasks', its databases' and its search
        domains' exports."""
        return [
            self.log_group_name("*"),
            self.task_log_group_name("*"),
            self.database_log_group_name(self.name("*"), "*"),
            self.search_log_group_name(self.name("*"), "*"),
        ]

    def short_name(self, thing: str, limit: int) -> str:
        """`name(thing)` cut to an AWS length limit, kept unique with a hash suffix when cut."""
        full = self.name(thing)
        if len(full) <= limit:
            return full
        digest = hashlib.sha256(full.encode()).hexdigest()[:6]
        return f"{full[: limit - 7].rstrip('-')}-{digest}"

    def tags_for(self, name: str) -> dict[str, str]:
        return {**self.tags, "Name": name}

    def stateful(self, parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
        """Options for resources holding data: protected and retained when the stack protects data."""
        return pulumi.ResourceOptions(
            parent=parent, protect=self.protect_data, retain_on_delete=self.protect_data, **kwargs
        )


def stack_tags(project: str, stack: str, environment: str, user_tags: Mapping[str, str]) -> dict[str, str]:
    return {"project": project, "stack": stack, "environment": environment, **user_tags}

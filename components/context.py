"""What every component needs to know about the stack it is part of."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class StackContext:
    """Naming, tagging and data-protection rules shared by all components."""

    prefix: str
    region: str
    environment: str
    tags: Mapping[str, str] = field(default_factory=dict)
    protect_data: bool = False

    def name(self, thing: str) -> str:
        """Physical name `<project>-<stack>-<thing>`."""
        return f"{self.prefix}-{thing}"

    def log_group_name(self, thing: str) -> str:
        """CloudWatch log group of an app's instances; `log_group_pattern` matches every one of this stack."""
        return f"/aws/ec2/{self.name(thing)}"

    @property
    def log_group_pattern(self) -> str:
        return self.log_group_name("*")

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

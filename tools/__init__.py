"""Operator commands that run outside `pulumi up`: linting and publishing the repo's Iglu schemas."""

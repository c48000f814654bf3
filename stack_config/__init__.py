"""Typed, validated stack configuration."""

from stack_config.load import ConfigError, Deployment, check_secret_arns, load, parse
from stack_config.model import StackConfig

__all__ = ["ConfigError", "Deployment", "StackConfig", "check_secret_arns", "load", "parse"]

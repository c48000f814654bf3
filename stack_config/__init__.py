"""Typed, validated stack configuration."""

from stack_config.load import ConfigError, Deployment, load, parse
from stack_config.model import StackConfig

__all__ = ["ConfigError", "Deployment", "StackConfig", "load", "parse"]

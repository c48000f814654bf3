"""Operator tools run against a deployed stack: `python -m ops.preflight` before `pulumi up`, `python -m ops.smoke` after."""

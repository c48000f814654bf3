"""Shared infrastructure: network, stack key, buckets, storage and streams."""

"""The EC2-service base and the event-path apps built on it: collector, enrich, S3 loaders."""

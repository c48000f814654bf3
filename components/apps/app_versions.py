"""Pinned Snowplow app images: the one place to upgrade them."""

COLLECTOR_IMAGE = "snowplow/scala-stream-collector-kinesis:3.7.0"
ENRICH_IMAGE = "snowplow/snowplow-enrich-kinesis:6.13.1"
S3_LOADER_IMAGE = "snowplow/snowplow-s3-loader:3.2.0"
IGLU_SERVER_IMAGE = "snowplow/iglu-server:0.14.2"
POSTGRES_LOADER_IMAGE = "snowplow/snowplow-postgres-loader:0.3.3"
ELASTICSEARCH_LOADER_IMAGE = "snowplow/elasticsearch-loader:3.0.1"

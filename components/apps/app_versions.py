"""Pinned Snowplow app images: the one place to upgrade them."""

COLLECTOR_IMAGE = "snowplow/scala-stream-collector-kinesis:3.7.0"
ENRICH_IMAGE = "snowplow/snowplow-enrich-kinesis:6.13.1"
S3_LOADER_IMAGE = "snowplow/snowplow-s3-loader:3.2.0"
IGLU_SERVER_IMAGE = "snowplow/iglu-server:0.14.2"
POSTGRES_LOADER_IMAGE = "snowplow/snowplow-postgres-loader:0.3.3"
# RDB Loader 6.7.2 (Snowplow docs' componentVersions): the transformer and the Redshift loader share a version.
REDSHIFT_TRANSFORMER_IMAGE = "snowplow/transformer-kinesis:6.7.2"
REDSHIFT_LOADER_IMAGE = "snowplow/rdb-loader-redshift:6.7.2"
# Snowplow's docs list 0.6.1 and 0.5.0 as current (src/componentVersions.js, 2026-08).
SNOWFLAKE_LOADER_IMAGE = "snowplow/snowflake-loader-kinesis:0.6.1"
DATABRICKS_LOADER_IMAGE = "snowplow/databricks-loader-kinesis:0.5.0"

# dbt images per warehouse the models can run in: one line per warehouse (stack_config.analysis.WAREHOUSE_KEYS).
# dbt Labs' images have `dbt` as entrypoint and no AWS CLI; the Postgres image is built for linux/amd64 only.
DBT_IMAGES = {
    "postgres": "ghcr.io/dbt-labs/dbt-postgres:1.9.0",
}
# Fetches the dbt project from the config bucket before dbt starts (init container of the modeling task).
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.9"
ELASTICSEARCH_LOADER_IMAGE = "snowplow/elasticsearch-loader:3.0.1"

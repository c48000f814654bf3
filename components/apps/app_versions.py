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

# The modeling task's dbt container: CPython from the Docker Official Images, as mirrored on ECR Public (no Docker
# Hub pull limits; tag listed in docker-library/official-images library/python for amd64). At task start it pip
# installs the dbt-core the tests ran (modeling/dbt/requirements.txt, used as constraints) plus the warehouse's
# adapter below, so a run uses exactly the pins this repository tested rather than a prebuilt dbt image.
DBT_RUNTIME_IMAGE = "public.ecr.aws/docker/library/python:3.11.14-slim-bookworm"
# dbt adapter per warehouse the models can run in: one line per warehouse (stack_config.analysis.WAREHOUSE_KEYS).
# Each resolves with dbt-core 1.11.16 (`pip install --dry-run -c modeling/dbt/requirements.txt dbt-core <pin>`).
DBT_ADAPTERS = {
    "postgres": "dbt-postgres==1.11.0",
    "redshift": "dbt-redshift==1.11.2",
    "snowflake": "dbt-snowflake==1.11.6",
    "databricks": "dbt-databricks==1.12.7",  # 1.11.x: dbt-core < 1.11.9; 1.12.8: a certifi the index lacks
}
# Fetches the dbt project from the config bucket before dbt starts (init container of the modeling task).
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.9"
ELASTICSEARCH_LOADER_IMAGE = "snowplow/elasticsearch-loader:3.0.1"

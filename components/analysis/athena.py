"""Athena over the lake: a Glue database with the enriched-events and bad-rows tables, a workgroup that enforces
its settings and writes results encrypted with the stack key into a bucket of its own, and named first queries."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.analysis.lake_tables import (
    LAZY_SIMPLE_SERDE,
    TEXT_INPUT,
    TEXT_OUTPUT,
    TableSpec,
    bad_rows_table,
    database_name,
    enriched_table,
    named_queries,
)
from components.context import StackContext
from components.platform.bucket import SecureBucket, SecureBucketArgs
from stack_config.analysis import AnalysisConfig

ENGINE_VERSION = "Athena engine version 3"
GIB = 1024**3


@dataclass
class LakeAnalysisArgs:
    context: StackContext
    config: AnalysisConfig
    lake_bucket: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]


class LakeAnalysis(pulumi.ComponentResource):
    database: str
    workgroup: pulumi.Output[str]

    def __init__(self, name: str, args: LakeAnalysisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:analysis:LakeAnalysis", name, None, opts)
        ctx, cfg = args.context, args.config
        child = pulumi.ResourceOptions(parent=self)
        self.database = database_name(ctx.prefix)
        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=self.database,
            description=f"{ctx.prefix}: the Snowplow lake (enriched events and failed events) for Athena",
            tags=ctx.tags_for(self.database),
            opts=child,
        )
        lake = pulumi.Output.from_input(args.lake_bucket)
        tables = [
            self._table(f"{name}-{spec.name.replace('_', '-')}", database, spec, lake)
            for spec in (enriched_table(), bad_rows_table())
        ]
        # Query results are derived data: kept `results_expiration_days`, versioned and protected like any bucket.
        results = SecureBucket(
            f"{name}-results",
            SecureBucketArgs(
                context=ctx,
                bucket_name=f"{ctx.prefix}-athena-{ctx.account_id}",  # fits S3's 63 characters (see MAX_PREFIX)
                kms_key_arn=args.kms_key_arn,
                expiration_days=cfg.results_expiration_days,
                noncurrent_expiration_days=7,
                purpose="athena-results",
            ),
            opts=child,
        )
        workgroup_name = ctx.name("analysis")
        workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=workgroup_name,
            description=f"{ctx.prefix}: queries over the Snowplow lake (settings enforced, results encrypted)",
            state="ENABLED",
            configuration=aws.athena.WorkgroupConfigurationArgs(
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=cfg.bytes_scanned_cutoff_gb * GIB,
                requester_pays_enabled=False,
                engine_version=aws.athena.WorkgroupConfigurationEngineVersionArgs(
                    selected_engine_version=ENGINE_VERSION
                ),
                result_configuration=aws.athena.WorkgroupConfigurationResultConfigurationArgs(
                    output_location=pulumi.Output.concat("s3://", results.bucket_name, "/results/"),
                    expected_bucket_owner=ctx.account_id,
                    encryption_configuration=aws.athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                        encryption_option="SSE_KMS", kms_key_arn=args.kms_key_arn
                    ),
                ),
            ),
            tags=ctx.tags_for(workgroup_name),
            opts=child,
        )
        for query in named_queries(self.database):
            aws.athena.NamedQuery(
                f"{name}-query-{query.name}",
                name=query.name,
                description=query.description,
                database=database.name,
                workgroup=workgroup.name,
                query=query.sql,
                opts=pulumi.ResourceOptions(parent=self, depends_on=tables),
            )
        self.workgroup = workgroup.name
        self.register_outputs(
            {"database": database.name, "workgroup": workgroup.name, "resultsBucket": results.bucket_name}
        )

    def _table(
        self, resource_name: str, database: aws.glue.CatalogDatabase, spec: TableSpec, lake: pulumi.Output[str]
    ) -> aws.glue.CatalogTable:
        return aws.glue.CatalogTable(
            resource_name,
            database_name=database.name,
            name=spec.name,
            description=spec.description,
            table_type="EXTERNAL_TABLE",
            parameters=lake.apply(spec.table_parameters),
            partition_keys=[aws.glue.CatalogTablePartitionKeyArgs(name=n, type=t) for n, t in spec.partition_keys]
            or None,
            storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
                location=lake.apply(spec.location),
                input_format=TEXT_INPUT,
                output_format=TEXT_OUTPUT,
                compressed=True,
                columns=[aws.glue.CatalogTableStorageDescriptorColumnArgs(name=n, type=t) for n, t in spec.columns],
                ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                    serialization_library=LAZY_SIMPLE_SERDE, parameters=spec.serde_parameters
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

"""The component tree a user sees in `pulumi preview` and the console: one `snowplow:...` component per subsystem,
nested where one subsystem builds another, and every cloud resource inside the component that made it."""

import pathlib

import pulumi
import pytest

from offline.engine import StackFile, run_program

ROOT = pathlib.Path(__file__).resolve().parent.parent
STACK = "pulumi:pulumi:Stack"

# (component type, name) -> the component it sits in, for the stack with every optional feature on
FULL_TREE = {
    ("snowplow:pipeline:Keys", "keys"): STACK,
    ("snowplow:pipeline:Network", "network"): STACK,
    ("snowplow:pipeline:Streams", "streams"): STACK,
    ("snowplow:storage:Storage", "storage"): STACK,
    ("snowplow:storage:SecureBucket", "storage-lake"): "storage",
    ("snowplow:storage:SecureBucket", "storage-app-config"): "storage",
    ("snowplow:pipeline:Collector", "collector"): STACK,
    ("snowplow:pipeline:Ec2Service", "collector-service"): "collector",
    ("snowplow:storage:SecureBucket", "collector-access-logs"): "collector",
    ("snowplow:pipeline:Enrich", "enrich"): STACK,
    ("snowplow:pipeline:Ec2Service", "enrich-service"): "enrich",
    ("snowplow:pipeline:S3Loader", "s3-loader-enriched"): STACK,
    ("snowplow:pipeline:Ec2Service", "s3-loader-enriched-service"): "s3-loader-enriched",
    ("snowplow:pipeline:S3Loader", "s3-loader-bad"): STACK,
    ("snowplow:pipeline:Ec2Service", "s3-loader-bad-service"): "s3-loader-bad",
    ("snowplow:platform:PostgresDatabase", "iglu-db"): STACK,
    ("snowplow:platform:PostgresDatabase", "events-db"): STACK,
    ("snowplow:registry:IgluServer", "iglu-server"): STACK,
    ("snowplow:pipeline:Ec2Service", "iglu-server-service"): "iglu-server",
    ("snowplow:storage:SecureBucket", "iglu-server-access-logs"): "iglu-server",
    ("snowplow:destinations:Postgres", "postgres-loader"): STACK,
    ("snowplow:pipeline:Ec2Service", "postgres-loader-service"): "postgres-loader",
    ("snowplow:destinations:Redshift", "redshift"): STACK,
    ("snowplow:destinations:RedshiftServerless", "redshift-serverless"): "redshift",
    ("snowplow:pipeline:Ec2Service", "redshift-transformer-service"): "redshift",
    ("snowplow:pipeline:Ec2Service", "redshift-loader-service"): "redshift",
    ("snowplow:destinations:Snowflake", "snowflake-loader"): STACK,
    ("snowplow:pipeline:Ec2Service", "snowflake-loader-service"): "snowflake-loader",
    ("snowplow:destinations:Databricks", "databricks-loader"): STACK,
    ("snowplow:pipeline:Ec2Service", "databricks-loader-service"): "databricks-loader",
    ("snowplow:destinations:OpenSearch", "opensearch"): STACK,
    ("snowplow:pipeline:Ec2Service", "opensearch-elasticsearch-loader"): "opensearch",
    ("snowplow:pipeline:Ec2Service", "opensearch-elasticsearch-loader-bad"): "opensearch",
    ("snowplow:modeling:Modeling", "modeling"): STACK,
    ("snowplow:analysis:LakeAnalysis", "analysis"): STACK,
    ("snowplow:storage:SecureBucket", "analysis-results"): "analysis",
    ("snowplow:observability:Observability", "observability"): STACK,
}


@pytest.fixture(scope="module")
def full():
    return run_program(StackFile.read(ROOT / "tests" / "stacks" / "Pulumi.full.yaml"))


def _parent_label(resource, by_urn):
    parent = by_urn[resource["parent"]]
    return STACK if parent["type"] == STACK else parent["name"]


def test_each_subsystem_is_one_component_of_its_own_type_in_the_component_that_builds_it(full):
    by_urn = {r["urn"]: r for r in full.resources}
    tree = {
        (r["type"], r["name"]): _parent_label(r, by_urn)
        for r in full.resources
        if not r.get("custom", True) and r["type"] != STACK
    }
    assert tree == FULL_TREE


def test_every_cloud_resource_sits_in_a_component_never_loose_in_the_stack(full):
    by_urn = {r["urn"]: r for r in full.resources}
    loose = [r["urn"] for r in full.resources if r.get("custom", True) and by_urn[r["parent"]]["type"] == STACK]
    assert loose == []
    # and every component holds something (cloud resources or components of its own): none is an empty shell
    holders = {r.get("parent") for r in full.resources}
    empty = [r["urn"] for r in full.resources if not r.get("custom", True) and r["type"] != STACK]
    assert [urn for urn in empty if urn not in holders] == []


def _snowplow_components(cls=None):
    for sub in (cls or pulumi.ComponentResource).__subclasses__():
        if sub.__module__.startswith("components."):
            yield sub
        yield from _snowplow_components(sub)


def test_options_given_to_any_component_reach_everything_it_creates(full, monkeypatch):
    """A component hands its options to itself and so to its children (Pulumi children inherit `protect` and
    providers from their parent): given `protect`, nothing it creates is left unprotected."""
    # `full` has planned the stack once already, so every component class is imported and listed below
    for component in set(_snowplow_components()):

        def init(self, name, args, opts=None, _original=component.__init__):
            _original(self, name, args, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True)))

        monkeypatch.setattr(component, "__init__", init)
    protected = run_program(StackFile.read(ROOT / "tests" / "stacks" / "Pulumi.full.yaml"))
    unprotected = [r["urn"] for r in protected.resources if r["type"] != STACK and not r["protect"]]
    assert unprotected == []

"""The OpenSearch destination: an Amazon OpenSearch Service domain in the private subnets, loaded from the
enriched stream (and optionally the bad-1 stream) by the Snowplow Elasticsearch Loader.

The domain encrypts at rest with the stack key and between nodes, answers only HTTPS with a TLS 1.2+ policy,
and runs fine-grained access control with no internal users: the enriched loader's instance role is its
master (it puts the index templates and the security-plugin roles at each boot, before it starts), the
optional bad-rows loader's role may write only its index, and an optional reader role (from config) may only
read. The domain's access policy names exactly those roles. Error, index-slow and search-slow logs go to log
groups encrypted with the stack key, under a CloudWatch Logs resource policy that admits this domain only.
Each loader signs its requests (SigV4) with its instance role and sends what the domain rejects to bad-2.
"""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.apps.app_versions import ELASTICSEARCH_LOADER_IMAGE
from components.apps.consumer_configs import HEALTH_PROBE_PORT
from components.apps.ec2_service import Ec2Service, Ec2ServiceArgs, InstanceFacts, Placement
from components.apps.hocon import hocon_text
from components.apps.iam import kcl_consumer
from components.apps.lease_table import lease_table
from components.context import StackContext
from components.destinations.elasticsearch_loader_config import (
    BAD_ROWS_WRITER_ROLE,
    READER_ROLE,
    SETUP_FILE,
    TEMPLATE_FILE,
    LoaderInput,
    Purpose,
    SetupRequest,
    json_file,
    render_bad_rows_writer_role,
    render_elasticsearch_loader_config,
    render_index_template,
    render_reader_role,
    render_role_mapping,
    render_setup_script,
)
from components.observability.signals import Signal
from components.platform.streams import StreamInfo
from stack_config.apps import OperationsConfig
from stack_config.opensearch import OpenSearchDestination as OpenSearchConfig

APP = "elasticsearch-loader"
BAD_APP = "elasticsearch-loader-bad"
TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"
LOG_TYPES = {"ES_APPLICATION_LOGS": "application", "INDEX_SLOW_LOGS": "index-slow", "SEARCH_SLOW_LOGS": "search-slow"}
# What a loader and a reader send: bulk writes and searches are POST, template and role PUTs, reads GET/HEAD.
LOADER_HTTP_ACTIONS = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
READER_HTTP_ACTIONS = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"]
ITERATOR_AGE_THRESHOLD_MS = 15 * 60 * 1000
FREE_STORAGE_SHARE = 0.25  # alarm when a node has less than this share of its volume free


def search_domain_name(ctx: StackContext) -> str:
    """3-28 lowercase letters, digits and hyphens, starting with a letter (the prefix already does)."""
    return ctx.short_name("search", 28)


@dataclass
class OpenSearchDestinationArgs:
    context: StackContext
    config: OpenSearchConfig
    operations: OperationsConfig
    instance: InstanceFacts
    bad_rows_instance: InstanceFacts | None
    placement: Placement
    enriched: StreamInfo
    bad: StreamInfo
    failures: StreamInfo


class OpenSearchDestination(pulumi.ComponentResource):
    def __init__(self, name: str, args: OpenSearchDestinationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("snowplow:destinations:OpenSearch", name, None, opts)
        self._name, self._args, self._ctx = name, args, args.context
        ctx, cfg = args.context, args.config
        self.domain_name = search_domain_name(ctx)
        domain_arn = f"arn:{ctx.partition}:es:{ctx.region}:{ctx.account_id}:domain/{self.domain_name}"

        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=ctx.name("search"),
            description="Snowplow OpenSearch domain: HTTPS from the loaders and configured clients only",
            vpc_id=args.placement.vpc_id,
            tags=ctx.tags_for(ctx.name("search")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        logs = self._log_groups(domain_arn)
        # The master is the enriched loader's role, which exists only once its service does; the service in
        # turn needs the domain's endpoint. The deferred ARN breaks that knot without hiding the dependency.
        master_arn, resolve_master_arn = pulumi.deferred_output()
        domain = self._domain(master_arn, security_group, logs)
        self.domain_arn, self.endpoint = domain.arn, domain.endpoint

        bad_loader = self._bad_rows_loader(domain) if cfg.bad_rows.enabled else None
        loader = self._loader(
            APP,
            "ENRICHED_EVENTS",
            cfg.index,
            cfg,
            args.instance,
            args.enriched,
            domain,
            bad_loader_role_arn=bad_loader.role_arn if bad_loader else None,
        )
        resolve_master_arn(loader.role_arn)
        loaders = [loader, *([bad_loader] if bad_loader else [])]

        aws.opensearch.DomainPolicy(
            f"{name}-access",
            domain_name=domain.domain_name,
            access_policies=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "LoadersWrite",
                            "Effect": "Allow",
                            "Principal": {"AWS": [item.role_arn for item in loaders]},
                            "Action": LOADER_HTTP_ACTIONS,
                            "Resource": domain.arn.apply(lambda a: f"{a}/*"),
                        },
                        *(
                            [
                                {
                                    "Sid": "ConfiguredReaderReads",
                                    "Effect": "Allow",
                                    "Principal": {"AWS": cfg.reader_role_arn},
                                    "Action": READER_HTTP_ACTIONS,
                                    "Resource": domain.arn.apply(lambda a: f"{a}/*"),
                                }
                            ]
                            if cfg.reader_role_arn
                            else []
                        ),
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._ingress(security_group, loaders)

        self.loader, self.bad_rows_loader = loader, bad_loader
        self.lease_table_arns = [item.lease_table_arn for item in loaders]
        self.signals = self._signals(loaders)
        self.register_outputs({"domainArn": domain.arn, "endpoint": domain.endpoint, "asgName": loader.asg_name})

    def _log_groups(self, domain_arn: str) -> dict[str, aws.cloudwatch.LogGroup]:
        ctx, args = self._ctx, self._args
        groups = {
            log_type: aws.cloudwatch.LogGroup(
                f"{self._name}-logs-{kind}",
                name=ctx.search_log_group_name(self.domain_name, kind),
                retention_in_days=args.operations.log_retention_days,
                kms_key_id=args.placement.kms_key_arn,
                tags=ctx.tags_for(ctx.search_log_group_name(self.domain_name, kind)),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for log_type, kind in LOG_TYPES.items()
        }
        self._log_policy = aws.cloudwatch.LogResourcePolicy(
            f"{self._name}-log-policy",
            policy_name=f"{self.domain_name}-opensearch-logs",
            policy_document=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "OpenSearchPublishesThisDomainsLogs",
                            "Effect": "Allow",
                            "Principal": {"Service": "es.amazonaws.com"},
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": [group.arn.apply(lambda a: f"{a}:*") for group in groups.values()],
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                                "ArnLike": {"aws:SourceArn": domain_arn},
                            },
                        }
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return groups

    def _domain(
        self,
        master_arn: pulumi.Output[str],
        security_group: aws.ec2.SecurityGroup,
        logs: dict[str, aws.cloudwatch.LogGroup],
    ) -> aws.opensearch.Domain:
        ctx, args, size = self._ctx, self._args, self._args.config.domain
        zones = size.zone_awareness or 0
        prerequisites: list[pulumi.Resource] = [self._log_policy]
        if args.config.create_service_linked_role:
            prerequisites.append(
                aws.iam.ServiceLinkedRole(
                    f"{self._name}-service-role",
                    aws_service_name="opensearchservice.amazonaws.com",
                    description="Lets OpenSearch Service place domains in this account's VPCs",
                    tags=ctx.tags_for("AWSServiceRoleForAmazonOpenSearchService"),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        masters = size.dedicated_masters
        return aws.opensearch.Domain(
            f"{self._name}-domain",
            domain_name=self.domain_name,
            engine_version=args.config.engine_version,
            cluster_config=aws.opensearch.DomainClusterConfigArgs(
                instance_type=size.instance_type,
                instance_count=size.instance_count,
                zone_awareness_enabled=bool(zones),
                zone_awareness_config=(
                    aws.opensearch.DomainClusterConfigZoneAwarenessConfigArgs(availability_zone_count=zones)
                    if zones
                    else None
                ),
                dedicated_master_enabled=masters.count > 0,
                dedicated_master_type=masters.instance_type if masters.count else None,
                dedicated_master_count=masters.count or None,
            ),
            ebs_options=aws.opensearch.DomainEbsOptionsArgs(
                ebs_enabled=True, volume_type="gp3", volume_size=size.volume_size_gb
            ),
            encrypt_at_rest=aws.opensearch.DomainEncryptAtRestArgs(enabled=True, kms_key_id=args.placement.kms_key_arn),
            node_to_node_encryption=aws.opensearch.DomainNodeToNodeEncryptionArgs(enabled=True),
            domain_endpoint_options=aws.opensearch.DomainDomainEndpointOptionsArgs(
                enforce_https=True, tls_security_policy=TLS_POLICY
            ),
            advanced_security_options=aws.opensearch.DomainAdvancedSecurityOptionsArgs(
                enabled=True,
                anonymous_auth_enabled=False,
                internal_user_database_enabled=False,
                master_user_options=aws.opensearch.DomainAdvancedSecurityOptionsMasterUserOptionsArgs(
                    master_user_arn=master_arn
                ),
            ),
            vpc_options=aws.opensearch.DomainVpcOptionsArgs(
                subnet_ids=pulumi.Output.from_input(args.placement.subnet_ids).apply(lambda ids: ids[: max(zones, 1)]),
                security_group_ids=[security_group.id],
            ),
            log_publishing_options=[
                aws.opensearch.DomainLogPublishingOptionArgs(
                    log_type=log_type, cloudwatch_log_group_arn=group.arn, enabled=True
                )
                for log_type, group in logs.items()
            ],
            tags=ctx.tags_for(self.domain_name),
            opts=ctx.stateful(self, depends_on=prerequisites),
        )

    def _bad_rows_loader(self, domain: aws.opensearch.Domain) -> "_Loader":
        cfg = self._args.config
        return self._loader(
            BAD_APP, "BAD_ROWS", cfg.bad_rows.index, cfg.bad_rows, self._args.bad_rows_instance, self._args.bad, domain
        )

    def _loader(
        self,
        app: str,
        purpose: Purpose,
        index: str,
        cfg,
        instance: InstanceFacts,
        source: StreamInfo,
        domain: aws.opensearch.Domain,
        bad_loader_role_arn: pulumi.Output[str] | None = None,
    ) -> "_Loader":
        """One loader; the master (enriched) one also puts the security-plugin roles of the others."""
        ctx, args = self._ctx, self._args
        place = args.placement
        app_name = ctx.name(app)
        replicas = min(1, args.config.domain.instance_count - 1)
        table = lease_table(f"{self._name}-{app}-leases", ctx, app_name, cfg.lease_table, place.kms_key_arn, self)
        loader_input = LoaderInput(
            source.name, app_name, cfg.initial_position, getattr(cfg, "max_records", args.config.max_records)
        )
        files: dict[str, pulumi.Input[str]] = {
            "elasticsearch-loader.hocon": domain.endpoint.apply(
                lambda endpoint: hocon_text(
                    render_elasticsearch_loader_config(
                        source=loader_input,
                        endpoint=endpoint,
                        index=index,
                        region=ctx.region,
                        purpose=purpose,
                        failures_stream=args.failures.name,
                        telemetry=args.operations.telemetry,
                    )
                )
            ),
            TEMPLATE_FILE: json_file(render_index_template(index, purpose, replicas)),
        }
        requests = []
        if purpose == "ENRICHED_EVENTS":
            requests += self._master_requests(files, bad_loader_role_arn)
        requests.append(SetupRequest(f"/_index_template/{index}", TEMPLATE_FILE))
        files[SETUP_FILE] = domain.endpoint.apply(lambda e: render_setup_script(app, e, ctx.region, requests))
        service = Ec2Service(
            f"{self._name}-{app}",
            Ec2ServiceArgs(
                context=ctx,
                app=app,
                image=ELASTICSEARCH_LOADER_IMAGE,
                instance=instance,
                size=cfg.size,
                placement=place,
                operations=args.operations,
                files=files,
                app_args=["--config", "/snowplow/config/elasticsearch-loader.hocon"],
                statements=[
                    *kcl_consumer(
                        place.kms_key_arn,
                        ctx.region,
                        read=("ReadInputStream", source.arn),
                        write=("WriteLoaderFailures", [args.failures.arn]),
                        table_arn=table.arn,
                        table_name=table.name,
                    ),
                    {
                        "Sid": "UseSearchDomain",
                        "Effect": "Allow",
                        "Action": LOADER_HTTP_ACTIONS,
                        "Resource": [domain.arn, domain.arn.apply(lambda a: f"{a}/*")],
                    },
                ],
                group_tags={"snowplow:kcl-app": app_name, "snowplow:input-stream": source.name},
                health_port=HEALTH_PROBE_PORT,
                health_path="/",
                host_scripts=[SETUP_FILE],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        role_arn = pulumi.Output.concat("arn:", ctx.partition, ":iam::", ctx.account_id, ":role/", service.role_name)
        return _Loader(app, source, cfg.size.min_size, service, role_arn, table.arn)

    def _master_requests(
        self, files: dict[str, pulumi.Input[str]], bad_loader_role_arn: pulumi.Output[str] | None
    ) -> list[SetupRequest]:
        """Security-plugin roles and their mappings to IAM roles, put by the master before its own template."""
        cfg, requests = self._args.config, []
        if bad_loader_role_arn is not None:
            files["role-bad-rows-writer.json"] = json_file(render_bad_rows_writer_role(cfg.bad_rows.index))
            files["mapping-bad-rows-writer.json"] = bad_loader_role_arn.apply(
                lambda a: json_file(render_role_mapping(a))
            )
            requests += [
                SetupRequest(f"/_plugins/_security/api/roles/{BAD_ROWS_WRITER_ROLE}", "role-bad-rows-writer.json"),
                SetupRequest(
                    f"/_plugins/_security/api/rolesmapping/{BAD_ROWS_WRITER_ROLE}", "mapping-bad-rows-writer.json"
                ),
            ]
        if cfg.reader_role_arn:
            indices = [cfg.index, *([cfg.bad_rows.index] if cfg.bad_rows.enabled else [])]
            files["role-reader.json"] = json_file(render_reader_role(indices))
            files["mapping-reader.json"] = json_file(render_role_mapping(cfg.reader_role_arn))
            requests += [
                SetupRequest(f"/_plugins/_security/api/roles/{READER_ROLE}", "role-reader.json"),
                SetupRequest(f"/_plugins/_security/api/rolesmapping/{READER_ROLE}", "mapping-reader.json"),
            ]
        return requests

    def _ingress(self, security_group: aws.ec2.SecurityGroup, loaders: list["_Loader"]) -> None:
        ctx = self._ctx
        sources = [(f"from-{item.app}", item.service.security_group_id, None) for item in loaders]
        sources += [(f"client-{i}", None, cidr) for i, cidr in enumerate(self._args.config.client_cidrs)]
        for suffix, group_id, cidr in sources:
            aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-ingress-{suffix}",
                security_group_id=security_group.id,
                description=f"HTTPS {suffix}",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                referenced_security_group_id=group_id,
                cidr_ipv4=cidr,
                tags=ctx.tags_for(f"{ctx.name('search')}-{suffix}"),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _signals(self, loaders: list["_Loader"]) -> list[Signal]:
        ctx, size = self._ctx, self._args.config.domain
        domain = {"DomainName": self.domain_name, "ClientId": ctx.account_id}
        signals = [
            Signal(
                name="opensearch-cluster-red",
                namespace="AWS/ES",
                metric_name="ClusterStatus.red",
                dimensions=domain,
                threshold=1,
                comparison="GreaterThanOrEqualToThreshold",
                period_seconds=60,
                description="A primary shard of the search domain is unassigned: some events cannot be indexed "
                "or found. Check the domain's health and free storage; the loaders send what fails to bad-2.",
            ),
            Signal(
                name="opensearch-free-storage",
                namespace="AWS/ES",
                metric_name="FreeStorageSpace",
                dimensions=domain,
                threshold=size.volume_size_gb * 1024 * FREE_STORAGE_SHARE,
                statistic="Minimum",
                comparison="LessThanOrEqualToThreshold",
                description="A search node has under a quarter of its volume free (MiB): at 5% free writes are "
                "blocked. Delete old indices or raise destinations.opensearch.domain.volumeSizeGb.",
            ),
        ]
        for item in loaders:
            signals += [
                Signal(
                    name=f"{item.app}-iterator-age",
                    namespace="AWS/Kinesis",
                    metric_name="GetRecords.IteratorAgeMilliseconds",
                    dimensions={"StreamName": item.source.name},
                    threshold=ITERATOR_AGE_THRESHOLD_MS,
                    description=f"Records of {item.source.name} wait over 15 minutes to be read: {item.app} (or "
                    "another consumer of the stream) falls behind. Check its log group and the domain's health.",
                ),
                Signal(
                    name=f"{item.app}-instances",
                    namespace="AWS/AutoScaling",
                    metric_name="GroupInServiceInstances",
                    dimensions={"AutoScalingGroupName": item.service.asg_name},
                    threshold=item.min_size,
                    statistic="Minimum",
                    comparison="LessThanThreshold",
                    description=f"Fewer {item.app} instances in service than its minimum: boots are failing "
                    "(see the group's activity and the log group's *-health streams).",
                ),
            ]
        return signals


@dataclass(frozen=True)
class _Loader:
    app: str
    source: StreamInfo
    min_size: int
    service: Ec2Service
    role_arn: pulumi.Output[str]
    lease_table_arn: pulumi.Output[str]

    @property
    def asg_name(self) -> pulumi.Output[str]:
        return self.service.asg_name

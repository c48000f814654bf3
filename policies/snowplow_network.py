"""Network exposure and host hardening: security groups, IMDSv2, public IPs, public databases, S3 access,
load balancer hardening, secrets in user data, SSM and ECS task definitions, privileged containers."""

import functools
import ipaddress
import re

from pulumi_policy import Severity
from snowplow_aws_types import carriers
from snowplow_documents import unrestricted_public_statements
from snowplow_policy_util import (
    ADVISORY,
    CLASSIC_ELB,
    DEFAULT_SECURITY_GROUP,
    EC2_INSTANCE,
    EIP,
    EIP_ASSOCIATION,
    INSTANCE_METADATA_DEFAULTS,
    LAUNCH_TEMPLATE,
    LBS,
    OPENSEARCH_DOMAIN_POLICIES,
    OPENSEARCH_DOMAINS,
    S3_ACCOUNT_PUBLIC_ACCESS_BLOCK,
    S3_ACL_TYPES,
    S3_BUCKET_POLICY,
    S3_BUCKETS,
    S3_PUBLIC_ACCESS_BLOCK,
    SECURITY_GROUP,
    SG_INGRESS_RULE,
    SG_RULE,
    SPOT_INSTANCE_REQUEST,
    SSM_PARAMETER,
    SUBNET,
    UNKNOWN,
    account_setting,
    acl_grants,
    as_list,
    as_number,
    boolean,
    bucket_children,
    bucket_policy_documents,
    decode_user_data,
    get,
    has_value,
    integer,
    integer_list,
    is_true,
    json_document,
    known,
    linked,
    of_type,
    places,
    resource_policy,
    snake,
    stack_policy,
    statements,
    str_list,
    string,
    string_list,
)

# --- Security group ingress ------------------------------------------------------------------

GROUP_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)

# Address space that is not reachable from the internet; it never counts as public exposure.
NON_PUBLIC = {
    4: [
        ipaddress.ip_network(n)
        for n in (
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/3",
        )
    ],
    6: [
        ipaddress.ip_network(n)
        for n in ("::/127", "::ffff:0:0/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8")
    ],
}


def _public_part(network) -> list:
    """`network` minus the non-public ranges, as a list of networks."""
    parts = [network]
    for reserved in NON_PUBLIC[network.version]:
        kept = []
        for part in parts:
            if part.subnet_of(reserved):
                continue
            kept += list(part.address_exclude(reserved)) if reserved.subnet_of(part) else [part]
        parts = kept
    return parts


def public_addresses(cidrs) -> dict:
    """{4: n, 6: n}: how many internet addresses the union of `cidrs` spans (unparseable entries are ignored)."""
    return dict(_public_addresses(tuple(str(c) for c in cidrs)))


@functools.lru_cache(maxsize=4096)
def _public_addresses(cidrs: tuple) -> dict:
    networks = {4: [], 6: []}
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            continue
        networks[network.version].append(network)
    return {
        version: sum(p.num_addresses for n in ipaddress.collapse_addresses(nets) for p in _public_part(n))
        for version, nets in networks.items()
    }


def _load_balancer_security_groups(resources) -> set:
    """URNs of security groups attached to a load balancer (via its securityGroups input)."""
    urns = set()
    for lb in of_type(resources, LBS, CLASSIC_ELB):
        groups = [d for d in lb.property_dependencies.get("securityGroups", []) if d.resource_type in GROUP_TYPES]
        groups = groups or [d for d in lb.dependencies if d.resource_type in GROUP_TYPES]
        urns.update(g.urn for g in groups)
    return urns


def _inline_rules(sg) -> list:
    """(protocol, fromPort, toPort, cidrs) of the inline `ingress` blocks of a security group."""
    return [
        (
            get(rule, "protocol"),
            get(rule, "fromPort"),
            get(rule, "toPort"),
            as_list(get(rule, "cidrBlocks")) + as_list(get(rule, "ipv6CidrBlocks")),
        )
        for rule in as_list(get(sg.props, "ingress"))
    ]


def _ingress_rule(rule) -> list:
    """The same tuple for a vpc.SecurityGroupIngressRule."""
    props = rule.props
    cidrs = [c for c in (get(props, "cidrIpv4"), get(props, "cidrIpv6")) if c]
    return [(get(props, "ipProtocol"), get(props, "fromPort"), get(props, "toPort"), cidrs)]


def _legacy_rule(rule) -> list:
    """The same tuple for an ec2.SecurityGroupRule of type ingress (none for egress)."""
    props = rule.props
    if get(props, "type") != "ingress":
        return []
    cidrs = as_list(get(props, "cidrBlocks")) + as_list(get(props, "ipv6CidrBlocks"))
    return [(get(props, "protocol"), get(props, "fromPort"), get(props, "toPort"), cidrs)]


def _ingress_entries(resources) -> list:
    """(security group or None, resource to blame, protocol, fromPort, toPort, cidrs) for every ingress rule.

    Rules with unknown values are skipped; they are checked again once the values are known.
    """
    entries = []
    for sg in of_type(resources, GROUP_TYPES):
        for rule in known(lambda s=sg: _inline_rules(s), []):
            entries.append((sg, sg) + rule)
    for rule in of_type(resources, SG_INGRESS_RULE, SG_RULE):
        read = _ingress_rule if rule.resource_type == SG_INGRESS_RULE else _legacy_rule
        groups = linked(rule, "securityGroupId", GROUP_TYPES)
        for entry in known(lambda r=rule, f=read: f(r), []):
            entries.append((groups[0] if groups else None, rule) + entry)
    return entries


def _all_protocols(protocol) -> bool:
    return str(protocol).lower() in ("-1", "all")


PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _port_range(protocol, from_port, to_port) -> tuple:
    """(protocol, low, high) with "all traffic" as ("-1", 0, 65535) and protocol numbers as names."""
    if _all_protocols(protocol):
        return "-1", 0, 65535
    low, high = as_number(from_port), as_number(to_port)
    low = 0 if low is None or low < 0 else low
    high = 65535 if high is None or high < 0 else high
    name = str(protocol).lower()
    return PROTOCOL_NAMES.get(name, name), low, high


def _covers(outer: tuple, inner: tuple) -> bool:
    return (outer[0] == "-1" or outer[0] == inner[0]) and outer[1] <= inner[1] and outer[2] >= inner[2]


def _only_allowed_tcp_ports(ports: tuple, allowed) -> bool:
    protocol, low, high = ports
    if protocol != "tcp" or high < low or high - low > len(allowed):
        return False
    return all(port in allowed for port in range(int(low), int(high) + 1))


def _describe_ports(ports: tuple) -> str:
    protocol, low, high = ports
    if protocol == "-1":
        return "all traffic"
    if (low, high) == (0, 65535):
        return f"{protocol} (all ports)"
    return f"{protocol} port {low:g}" if high == low else f"{protocol} ports {low:g}-{high:g}"


def _too_public(addresses: dict, cfg) -> bool:
    return addresses[4] > 2 ** (32 - cfg["broadestPublicPrefixIpv4"]) or addresses[6] > 2 ** (
        128 - cfg["broadestPublicPrefixIpv6"]
    )


def check_public_ingress(args, report, cfg):
    lb_groups = _load_balancer_security_groups(args.resources)
    allowed = set(cfg["allowedPublicPorts"])
    by_group: dict = {}
    for sg, blame, protocol, from_port, to_port, cidrs in _ingress_entries(args.resources):
        key = sg.urn if sg is not None else blame.urn
        by_group.setdefault(key, []).append((sg, blame, _port_range(protocol, from_port, to_port), cidrs))
    reported = set()
    for entries in by_group.values():
        for sg, blame, ports, _ in entries:
            # Every rule of the group that admits these ports adds its sources: 0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0.
            cidrs = sorted({str(c) for _, _, other, more in entries if _covers(other, ports) for c in more})
            addresses = public_addresses(cidrs)
            if not _too_public(addresses, cfg):
                continue
            if sg is not None and sg.urn in lb_groups and _only_allowed_tcp_ports(ports, allowed):
                continue
            where = f"Security group '{sg.name}'" if sg is not None else f"Security group rule '{blame.name}'"
            message = (
                f"{where} opens {_describe_ports(ports)} to {addresses[4] + addresses[6]:,} internet addresses "
                f"({', '.join(cidrs)}), more than a /{cfg['broadestPublicPrefixIpv4']} (IPv4) or "
                f"/{cfg['broadestPublicPrefixIpv6']} (IPv6); only load balancer security groups may be open to the "
                f"internet, on tcp {sorted(allowed)}. Restrict the source to a trusted CIDR or security group (use "
                "SSM Session Manager instead of public SSH)."
            )
            if (blame.urn, message) not in reported:
                reported.add((blame.urn, message))
                report(message, blame.urn)


# --- Instances and launch templates ----------------------------------------------------------

IMDS_CARRIERS = {t: p for t, p in carriers("http_tokens").items() if t != INSTANCE_METADATA_DEFAULTS}
INSTANCE_TYPES = {EC2_INSTANCE, SPOT_INSTANCE_REQUEST}
IMDS_INSTANCES = sorted(t for t in IMDS_CARRIERS if t in INSTANCE_TYPES)
IMDS_TEMPLATES = sorted(t for t in IMDS_CARRIERS if t not in INSTANCE_TYPES)


def _account_requires_tokens(resources) -> bool:
    """The stack sets the region's instance metadata defaults to IMDSv2 only."""
    tokens = account_setting(resources, INSTANCE_METADATA_DEFAULTS, lambda r: get(r.props, "httpTokens"))
    return tokens is UNKNOWN or tokens == "required"  # unknown until deploy: judged then


def _imds_problem(resource, path, account_default: bool) -> str:
    """'' when metadata tokens are required (or the endpoint is off) for instances launched from `resource`."""
    container_path = path.rsplit(".", 1)[0]
    for where, options in places(resource.props, container_path):
        if get(options, "httpEndpoint") == "disabled":
            continue
        tokens = get(options, "httpTokens")
        if tokens == "required" or (tokens is None and account_default):
            continue
        return f"{snake(where)}.http_tokens is '{tokens or 'optional'}'"
    return ""


def _template_requires_tokens(instance, account_default: bool) -> bool:
    return any(
        not _imds_problem(template, "metadataOptions.httpTokens", account_default)
        for template in linked(instance, "launchTemplate", [LAUNCH_TEMPLATE])
    )


def check_template_imdsv2(args, report, cfg):
    account_default = known(lambda: _account_requires_tokens(args.resources), False)
    for template in of_type(args.resources, IMDS_TEMPLATES):
        for path in IMDS_CARRIERS[template.resource_type]:
            if problem := known(lambda t=template, p=path: _imds_problem(t, p, account_default), ""):
                report(
                    f"'{template.name}' ({template.resource_type}) launches instances that accept IMDSv1 ({problem}); "
                    f"set {snake(path.rsplit('.', 1)[0])}.http_tokens='required'.",
                    template.urn,
                )


def check_instance_imdsv2(args, report, cfg):
    account_default = known(lambda: _account_requires_tokens(args.resources), False)
    for instance in of_type(args.resources, IMDS_INSTANCES):
        problem = known(lambda i=instance: _imds_problem(i, "metadataOptions.httpTokens", account_default), "")
        if not problem:
            continue
        declared = known(lambda i=instance: get(i.props, "metadataOptions") is not None, True)
        from_template = known(lambda i=instance: _template_requires_tokens(i, account_default))
        if not declared and (from_template is UNKNOWN or from_template):
            continue  # launched from a template that requires tokens (or whose setting is decided at deploy time)
        report(
            f"'{instance.name}' ({instance.resource_type}) accepts IMDSv1 ({problem}); set "
            "metadata_options.http_tokens='required' (or launch it from a template that does).",
            instance.urn,
        )


PUBLIC_IP_CARRIERS = carriers("associate_public_ip_address")
PUBLIC_IP_TEMPLATES = sorted(t for t in PUBLIC_IP_CARRIERS if t not in INSTANCE_TYPES)
PUBLIC_IP_INSTANCES = sorted(t for t in PUBLIC_IP_CARRIERS if t in INSTANCE_TYPES)


def check_template_public_ip(args, report, cfg):
    if cfg["allowPublicIp"]:
        return
    for path in PUBLIC_IP_CARRIERS[args.resource_type]:
        for where, value in places(args.props, path):
            if is_true(value):
                report(
                    f"'{args.name}' ({args.resource_type}) gives its instances a public IP ({snake(where)}); set it "
                    "to false and run the instances in private subnets behind the load balancer / NAT."
                )


def _subnet_maps_public_ips(instance) -> bool:
    return any(is_true(get(s.props, "mapPublicIpOnLaunch")) for s in linked(instance, "subnetId", [SUBNET]))


EIP_TARGETS = ("instance", "networkInterface", "instanceId", "networkInterfaceId")


def check_instance_public_ip(args, report, cfg):
    if cfg["allowPublicIp"]:
        return
    for instance in of_type(args.resources, PUBLIC_IP_INSTANCES):
        flag = known(lambda i=instance: get(i.props, "associatePublicIpAddress"), False)
        if is_true(flag) or (flag is None and known(lambda i=instance: _subnet_maps_public_ips(i), False)):
            why = "associate_public_ip_address=True" if is_true(flag) else "its subnet maps public IPs on launch"
            report(
                f"'{instance.name}' ({instance.resource_type}) gets a public IP ({why}); set "
                "associate_public_ip_address=False and place it in a private subnet.",
                instance.urn,
            )
    for eip in of_type(args.resources, EIP, EIP_ASSOCIATION):
        targets = [k for k in EIP_TARGETS if known(lambda e=eip, k=k: has_value(get(e.props, k)), False)]
        if targets:
            target = targets[0]
            report(
                f"'{eip.name}' ({eip.resource_type}) gives an instance or network interface a public IP "
                f"({snake(target)}); keep instances private behind the load balancer / NAT (Elastic IPs belong on "
                "NAT gateways and load balancers).",
                eip.urn,
            )


# --- Credentials in user data ----------------------------------------------------------------

USER_DATA_CARRIERS = carriers("user_data", "user_data_base64")

# Credential formats recognisable by themselves, wherever they appear.
CREDENTIAL_PATTERNS = [
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    r"\bgithub_pat_[A-Za-z0-9_]{22,}\b",
    r"\bglpat-[A-Za-z0-9_-]{20,}\b",
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b",
    r"\b[sr]k_live_[A-Za-z0-9]{16,}\b",
    r"\bAIza[0-9A-Za-z_-]{35}\b",
    r"\bnpm_[A-Za-z0-9]{36}\b",
    r"\bdckr_pat_[A-Za-z0-9_-]{20,}\b",
    r"\bhf_[A-Za-z0-9]{30,}\b",
    r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}\b",
    r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
]
_SECRET_WORDS = (
    r"password|passwd|pwd|secret|api[_-]?key|apikey|private[_-]?key|access[_-]?key|token|client[_-]?secret|"
    r"credentials?"
)
# A secret-named key (its name ends in one of the words) assigned a value: KEY=v, key: v, "key": "v", key = v.
_ASSIGNMENT = re.compile(
    rf"(?i)(?<![A-Za-z0-9])[A-Za-z0-9_.-]*?(?:{_SECRET_WORDS})[\"']?\s*(?::=|=>|=|:)\s*(?P<value>\S.*)"
)
# Command-line options that take a credential: --password x, --token=x, docker login -p x, mysql -px.
_OPTION = re.compile(
    r"(?i)(?:--(?:password|passwd|pass|token|secret|api-?key|client-secret|access-key|secret-key)(?:=|\s+)"
    r"|\b(?:docker|podman|nerdctl)\s+login\b.*?\s-p\s*"
    r"|\bmysql\w*\b.*?\s-p(?=\S))(?P<value>\S+)"
)
# Credentials inside a URL: scheme://user:password@host (or scheme://:password@host).
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:(?P<value>[^\s/@'\"]+)@")
_REFERENCE_START = ("$", "{{", "%", "<", "@", "/", "./", "~/", "`", "arn:")
_CODE = re.compile(r"^[A-Za-z_][\w.]*\s*[\(\[]|^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")


def _first_value(text: str) -> str:
    """The value at the start of `text`: a quoted string's content, or the run up to a space or separator."""
    text = text.strip()
    if text[:1] in ("'", '"', "`"):
        end = text.find(text[0], 1)
        return text[1:end] if end > 0 else text[1:]
    return re.split(r"[\s,;}\]\)]", text, maxsplit=1)[0]


def _is_literal_credential(value: str, min_length: int) -> bool:
    """A written-out value, not a reference ($VAR, {{resolve:...}}, <placeholder>, a path, an ARN) or code."""
    value = value.strip().strip("'\"`")
    if len(value) < min_length or "{{resolve:" in value or value.startswith(_REFERENCE_START):
        return False
    if _CODE.match(value) or len(set(value)) == 1:
        return False
    # a bare word (true, none, required, a variable name or a placeholder) is not a secret
    return not re.fullmatch(r"[A-Za-z_]+", value)


def credential_findings(text: str, patterns: list, min_length: int) -> list:
    """(line number, what) for every line of `text` that writes out a credential (never the value itself)."""
    found, compiled = [], [re.compile(p) for p in patterns]
    for number, line in enumerate(text.splitlines(), start=1):
        what = next((f"credential pattern #{i + 1}" for i, p in enumerate(compiled) if p.search(line)), None)
        for label, regex in (("a secret-named setting", _ASSIGNMENT), ("a credential option", _OPTION)):
            match = regex.search(line)
            if what is None and match and _is_literal_credential(_first_value(match.group("value")), min_length):
                what = label
        match = _URL_CREDENTIALS.search(line)
        if what is None and match and _is_literal_credential(match.group("value"), min_length):
            what = "a password in a URL"
        if what:
            found.append((number, what))
    return found


def check_user_data_secrets(args, report, cfg):
    for path in USER_DATA_CARRIERS[args.resource_type]:
        for where, value in places(args.props, path):
            for number, what in credential_findings(
                decode_user_data(value), cfg["credentialPatterns"], cfg["minLiteralLength"]
            )[:1]:
                report(
                    f"User data of '{args.name}' ({snake(where)}) writes out {what} on line {number}; read the value "
                    "at boot from Secrets Manager / SSM SecureString with the instance role (the program's "
                    "{{resolve:secretsmanager:<arn>}} placeholders do this) instead of baking it into user data."
                )


def check_ssm_secure_string(args, report, cfg):
    name = str(args.props.get("name") or args.name)
    if re.search(cfg["secretNamePattern"], name, re.IGNORECASE) and args.props.get("type") != "SecureString":
        report(
            f"SSM parameter '{name}' looks like a secret but is of type '{args.props.get('type')}'; "
            "use type='SecureString' with key_id=<customer-managed key>."
        )


# --- ECS task definitions --------------------------------------------------------------------

TASK_DEFINITION_CARRIERS = carriers("container_definitions")
# Linux capabilities that amount to root on the host.
HOST_CAPABILITIES = {"ALL", "SYS_ADMIN"}
# An environment variable whose name ends in a secret word.
_SECRET_VARIABLE = re.compile(rf"(?i)(?:{_SECRET_WORDS})$")


def _containers(args) -> list:
    """The task definition's container definitions (plain dicts); unknown during preview raises."""
    containers = []
    for path in TASK_DEFINITION_CARRIERS[args.resource_type]:
        for where, value in places(args.props, path):
            document = json_document(value, where)
            containers += [(where, c) for c in as_list(document) if isinstance(c, dict)]
    return containers


def check_task_privileged(args, report, cfg):
    for where, container in _containers(args):
        name = container.get("name") or "?"
        added = {str(c).upper() for c in as_list(get(container, "linuxParameters", "capabilities", "add"))}
        if is_true(container.get("privileged")):
            report(
                f"Task definition '{args.name}': container '{name}' is privileged ({snake(where)}); it would hold "
                "every capability of the host. Remove privileged=true (Fargate refuses it anyway)."
            )
        elif added & HOST_CAPABILITIES:
            report(
                f"Task definition '{args.name}': container '{name}' adds {sorted(added & HOST_CAPABILITIES)} "
                f"({snake(where)}), which amounts to root on the host; add only the capabilities it needs."
            )


def check_task_plaintext_secrets(args, report, cfg):
    patterns, min_length = cfg["credentialPatterns"], cfg["minLiteralLength"]
    for where, container in _containers(args):
        name = container.get("name") or "?"
        for variable in as_list(container.get("environment")):
            key, value = str(get(variable, "name") or ""), get(variable, "value")
            if not isinstance(value, str):
                continue
            if any(re.search(p, value) for p in patterns) or (
                _SECRET_VARIABLE.search(key) and _is_literal_credential(value, min_length)
            ):
                report(
                    f"Task definition '{args.name}': container '{name}' sets environment variable '{key}' to a "
                    f"written-out credential ({snake(where)}); pass it in `secrets` with valueFrom=<Secrets "
                    "Manager secret or SSM SecureString ARN>, which ECS resolves when the task starts."
                )
        commands = [str(c) for part in ("entryPoint", "command") for c in as_list(container.get(part))]
        for number, what in credential_findings("\n".join(commands), patterns, min_length)[:1]:
            report(
                f"Task definition '{args.name}': the command of container '{name}' writes out {what} (line "
                f"{number}); read it from an environment variable that `secrets` fills from Secrets Manager."
            )


# --- Databases -------------------------------------------------------------------------------

PUBLIC_ACCESS_CARRIERS = carriers("publicly_accessible")
REDSHIFT_PUBLIC_TYPES = sorted(
    t for t in PUBLIC_ACCESS_CARRIERS if t.startswith(("aws:redshift", "aws:redshiftserverless"))
)
DATABASE_PUBLIC_TYPES = sorted(t for t in PUBLIC_ACCESS_CARRIERS if t not in REDSHIFT_PUBLIC_TYPES)


def check_rds_not_public(args, report, cfg):
    if is_true(args.props.get("publiclyAccessible")):
        report(
            f"'{args.name}' ({args.resource_type}) is publicly accessible; set publicly_accessible=False and use "
            "private subnets."
        )


def check_redshift_not_public(args, report, cfg):
    if is_true(args.props.get("publiclyAccessible")):
        report(f"Redshift '{args.name}' is publicly accessible; set publicly_accessible=False.")


ENHANCED_VPC_ROUTING_TYPES = sorted(carriers("enhanced_vpc_routing"))


def check_redshift_vpc_routing(args, report, cfg):
    if not is_true(args.props.get("enhancedVpcRouting")):
        report(
            f"Redshift '{args.name}' sends COPY and UNLOAD traffic outside the VPC; set enhanced_vpc_routing=True so "
            "it goes through the VPC's endpoints, endpoint policies and flow logs."
        )


def check_search_domain_in_vpc(args, report, cfg):
    if args.props.get("vpcOptions") is None:
        report(
            f"Search domain '{args.name}' has a public endpoint; set vpc_options={{'subnet_ids': <private subnets>, "
            "'security_group_ids': [...]} so it is reachable only inside the VPC."
        )


def check_search_domain_policy_public(args, report, cfg):
    raw = args.props.get("accessPolicies")
    document = json_document(raw, "accessPolicies")
    if has_value(raw) and document is None:
        report(f"Access policy of '{args.name}' is not valid JSON, so it cannot be reviewed; fix the document.")
    for statement in unrestricted_public_statements(document):
        report(
            f"Access policy of '{args.name}' allows {str_list(statement.get('Action'))} to everyone (Principal '*' "
            "or NotPrincipal) without a condition that names who (aws:PrincipalAccount, aws:PrincipalOrgID, "
            "aws:SourceArn, ...); name the IAM roles that may call the domain."
        )


# --- S3 access -------------------------------------------------------------------------------

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _missing_public_access_flags(block) -> list:
    return [flag for flag in PUBLIC_ACCESS_FLAGS if not is_true(get(block.props, flag))]


def check_public_access_block(args, report, cfg):
    account_blocks = account_setting(
        args.resources, S3_ACCOUNT_PUBLIC_ACCESS_BLOCK, lambda r: not _missing_public_access_flags(r)
    )
    if account_blocks is True or account_blocks is UNKNOWN:
        return  # the account-wide block covers every bucket (or is decided at deploy time)
    blocks = bucket_children(args.resources, [S3_PUBLIC_ACCESS_BLOCK])
    for bucket in of_type(args.resources, S3_BUCKETS):
        missing = [known(lambda b=b: _missing_public_access_flags(b)) for b in blocks.get(bucket.urn, [])]
        if any(m is UNKNOWN or not m for m in missing):
            continue
        detail = f"its BucketPublicAccessBlock leaves {sorted(set(missing[0]))} unset" if missing else "it has none"
        report(
            f"S3 bucket '{bucket.name}' is not fully protected from public access: {detail}. Add "
            "aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id, block_public_acls=True, block_public_policy=True, "
            "ignore_public_acls=True, restrict_public_buckets=True) (or an aws.s3.AccountPublicAccessBlock).",
            bucket.urn,
        )


def _denies_insecure_transport(document) -> bool:
    for statement in statements(document):
        if statement.get("Effect") != "Deny":
            continue
        actions = [a.lower() for a in str_list(statement.get("Action"))]
        if not {"*", "s3:*"} & set(actions):
            continue
        for operator, block in (statement.get("Condition") or {}).items():
            if operator.lower() != "bool" or not isinstance(block, dict):
                continue
            for key, value in block.items():
                if key.lower() == "aws:securetransport" and any(str(v).lower() == "false" for v in as_list(value)):
                    return True
    return False


def check_tls_only_policy(args, report, cfg):
    policies = bucket_children(args.resources, [S3_BUCKET_POLICY])
    for bucket in of_type(args.resources, S3_BUCKETS):
        documents = known(lambda b=bucket: bucket_policy_documents(b, policies.get(b.urn, [])))
        if documents is UNKNOWN or any(_denies_insecure_transport(d) for d in documents):
            continue
        report(
            f"S3 bucket '{bucket.name}' accepts plain HTTP requests: no linked BucketPolicy denies them. Add a "
            "BucketPolicy statement {Effect: Deny, Principal: '*', Action: 's3:*', Resource: [<bucket arn>, "
            "<bucket arn>/*], Condition: {Bool: {'aws:SecureTransport': 'false'}}}.",
            bucket.urn,
        )


def check_bucket_policy_public(args, report, cfg):
    document = json_document(args.props.get("policy"), "policy")
    for statement in unrestricted_public_statements(document):
        report(
            f"Bucket policy of '{args.name}' allows {str_list(statement.get('Action'))} to everyone (Principal '*' "
            "or NotPrincipal) without a condition that names who (aws:PrincipalOrgID, aws:PrincipalAccount, "
            "aws:SourceVpce, aws:SourceArn, ...); name the principals or add such a condition."
        )


PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def check_public_acl(args, report, cfg):
    acl = args.props.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        report(
            f"'{args.name}' ({args.resource_type}) sets the canned ACL '{acl}', which opens the bucket to everyone "
            "(or every AWS account); use 'private' (better: BucketOwnershipControls with BucketOwnerEnforced, "
            "which disables ACLs)."
        )
    for where, uri, grant in acl_grants(args.props):
        if uri in PUBLIC_GRANTEES:
            permissions = str_list(get(grant, "permissions")) or get(grant, "permission")
            report(
                f"'{args.name}' ({args.resource_type}) grants {permissions} to {uri.rsplit('/', 1)[1]} "
                f"({snake(where)}); remove the grant."
            )


# --- Load balancers --------------------------------------------------------------------------


def _is_application_lb(props) -> bool:
    return (props.get("loadBalancerType") or "application") == "application"


def check_drop_invalid_headers(args, report, cfg):
    if _is_application_lb(args.props) and not is_true(args.props.get("dropInvalidHeaderFields")):
        report(
            f"Application load balancer '{args.name}' forwards malformed HTTP headers; set "
            "drop_invalid_header_fields=True."
        )


def check_access_logs(args, report, cfg):
    classic = args.resource_type == CLASSIC_ELB
    if not classic and not _is_application_lb(args.props):
        return
    logs = args.props.get("accessLogs")
    enabled = get(logs, "enabled", default=classic)  # a classic ELB's access_logs block is enabled by default
    if logs is None or not is_true(enabled) or not has_value(get(logs, "bucket")):
        report(
            f"Load balancer '{args.name}' writes no access logs; set access_logs={{'enabled': True, 'bucket': <log "
            "bucket>}."
        )


INSTANCE_CONFIG = {"allowPublicIp": boolean(False, "Accept public IPs (only for throw-away stacks without NAT).")}

POLICIES = [
    stack_policy(
        "ec2-security-group-restrict-public-ingress",
        "No security group opens more than a configured share of the internet's address space (whatever the "
        "spelling: 0.0.0.0/0, 0.0.0.0/1 + 128.0.0.0/1, ::/0...), except tcp 80/443 on load balancer groups.",
        check_public_ingress,
        config={
            "allowedPublicPorts": integer_list(
                [80, 443], "TCP ports a load balancer security group may open to the internet."
            ),
            "broadestPublicPrefixIpv4": integer(
                16, "Largest public IPv4 source allowed, as a prefix length (16: at most a /16's addresses).", 1
            ),
            "broadestPublicPrefixIpv6": integer(
                48, "Largest public IPv6 source allowed, as a prefix length (48: at most a /48's addresses).", 1
            ),
        },
        severity=Severity.CRITICAL,
    ),
    stack_policy(
        "ec2-launch-template-require-imdsv2",
        "Launch templates, launch configurations and Image Builder infrastructure require IMDSv2 session tokens "
        "(declared, or by the stack's instance metadata defaults).",
        check_template_imdsv2,
    ),
    stack_policy(
        "ec2-instance-require-imdsv2",
        "EC2 instances and spot requests require IMDSv2 session tokens (declared, through their launch template, or "
        "by the stack's instance metadata defaults).",
        check_instance_imdsv2,
    ),
    resource_policy(
        "ec2-launch-template-forbid-public-ip",
        "Launch templates, launch configurations and spot fleet specifications do not give instances a public IP.",
        PUBLIC_IP_TEMPLATES,
        check_template_public_ip,
        config=INSTANCE_CONFIG,
    ),
    stack_policy(
        "ec2-instance-forbid-public-ip",
        "EC2 instances and spot requests get no public IP: not by their own setting, their subnet, or an Elastic IP "
        "(Eip or EipAssociation) attached to them.",
        check_instance_public_ip,
        config=INSTANCE_CONFIG,
    ),
    resource_policy(
        "ec2-user-data-forbid-plaintext-secrets",
        "User data (instances, launch templates and configurations, spot requests, Lightsail, Image Builder) writes "
        "out no credential: no known token format, no literal value for a secret-named setting, option or URL.",
        sorted(USER_DATA_CARRIERS),
        check_user_data_secrets,
        config={
            "credentialPatterns": string_list(
                CREDENTIAL_PATTERNS, "Regular expressions of credential formats recognisable by themselves."
            ),
            "minLiteralLength": integer(6, "Shortest written-out value taken for a credential.", minimum=1),
        },
    ),
    resource_policy(
        "ssm-parameter-require-secure-string",
        "SSM parameters whose name looks secret are SecureStrings.",
        [SSM_PARAMETER],
        check_ssm_secure_string,
        config={
            "secretNamePattern": string(
                r"password|passwd|secret|token|api[-_]?key|private[-_]?key|credential",
                "Regular expression (case-insensitive) for parameter names that hold secrets.",
            )
        },
    ),
    resource_policy(
        "ecs-task-definition-forbid-privileged",
        "ECS task definitions run no privileged container and add no host-root capability (ALL, SYS_ADMIN).",
        sorted(TASK_DEFINITION_CARRIERS),
        check_task_privileged,
    ),
    resource_policy(
        "ecs-task-definition-forbid-plaintext-secrets",
        "ECS task definitions write out no credential in a container's environment or command: secrets come from "
        "Secrets Manager or SSM through `secrets`.",
        sorted(TASK_DEFINITION_CARRIERS),
        check_task_plaintext_secrets,
        config={
            "credentialPatterns": string_list(
                CREDENTIAL_PATTERNS, "Regular expressions of credential formats recognisable by themselves."
            ),
            "minLiteralLength": integer(6, "Shortest written-out value taken for a credential.", minimum=1),
        },
    ),
    resource_policy(
        "rds-database-forbid-public-access",
        "Databases and brokers with a publicly_accessible switch (RDS, Aurora, Neptune, DMS, MQ, Timestream, "
        "Lightsail...) are not publicly accessible.",
        DATABASE_PUBLIC_TYPES,
        check_rds_not_public,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "redshift-cluster-forbid-public-access",
        "Redshift clusters and serverless workgroups are not publicly accessible.",
        REDSHIFT_PUBLIC_TYPES,
        check_redshift_not_public,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "redshift-require-enhanced-vpc-routing",
        "Redshift clusters and serverless workgroups route COPY and UNLOAD traffic through the VPC.",
        ENHANCED_VPC_ROUTING_TYPES,
        check_redshift_vpc_routing,
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "opensearch-domain-require-vpc",
        "OpenSearch and Elasticsearch domains run inside a VPC, not on a public endpoint.",
        OPENSEARCH_DOMAINS,
        check_search_domain_in_vpc,
        severity=Severity.HIGH,
    ),
    resource_policy(
        "opensearch-domain-policy-forbid-public-access",
        "OpenSearch and Elasticsearch access policies (a domain's own or a DomainPolicy) grant nothing to "
        "Principal '*' without a condition that names the account, org or source.",
        [*OPENSEARCH_DOMAINS, *OPENSEARCH_DOMAIN_POLICIES],
        check_search_domain_policy_public,
        severity=Severity.CRITICAL,
    ),
    stack_policy(
        "s3-bucket-require-public-access-block",
        "Every S3 bucket has a BucketPublicAccessBlock with all four settings true (or the stack sets an "
        "AccountPublicAccessBlock).",
        check_public_access_block,
        severity=Severity.CRITICAL,
    ),
    stack_policy(
        "s3-bucket-require-tls-only-policy",
        "Every S3 bucket has a bucket policy denying requests without aws:SecureTransport.",
        check_tls_only_policy,
    ),
    resource_policy(
        "s3-bucket-policy-forbid-public-access",
        "Bucket policies (BucketPolicy or a bucket's inline policy) grant nothing to Principal '*' without a "
        "condition that names the org, account, VPC endpoint or source.",
        [S3_BUCKET_POLICY, *S3_BUCKETS],
        check_bucket_policy_public,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "s3-bucket-forbid-public-acl",
        "Buckets and bucket ACLs grant nothing to AllUsers or AuthenticatedUsers (no public-read, public-read-write "
        "or authenticated-read).",
        [*S3_BUCKETS, *S3_ACL_TYPES],
        check_public_acl,
        severity=Severity.CRITICAL,
    ),
    resource_policy(
        "lb-load-balancer-drop-invalid-headers",
        "Application load balancers (aws.lb and aws.alb) drop invalid HTTP header fields.",
        LBS,
        check_drop_invalid_headers,
        severity=Severity.MEDIUM,
    ),
    resource_policy(
        "lb-load-balancer-require-access-logs",
        "Application and classic load balancers write access logs to a bucket.",
        [*LBS, CLASSIC_ELB],
        check_access_logs,
        level=ADVISORY,
        severity=Severity.LOW,
    ),
]

"""The peers' test suites as ours: every AWSGuard and compliance-policies case in a rule area this pack covers,
translated to pulumi_aws 7 (tests/peer_cases.py) and run through the analyzer protocol. One test per case,
named after its source file and test. A case the pack deliberately decides otherwise asserts our verdict and
names the reason (policies/RULES.md, "Where the pack differs from its peers")."""

from tests.peer_cases import AWSGUARD, CASES, COMPLIANCE, EXCLUDED, PeerCase
from tests.policy_helpers import DEV_CONFIG, PACK_DIR, PROD_CONFIG, pack, real_findings, run  # noqa: F401


def _check(pack, peer: PeerCase) -> None:
    report = run(pack, list(peer.resources), peer.config)
    found = [v for policy in peer.policies for v in real_findings(report, policy)]
    if peer.expect_violation:
        assert found, f"{peer.source} {peer.test}: the peer expects a violation; {peer.policies} reported none"
    else:
        assert not found, f"{peer.source} {peer.test}: compliant for the peer, but flagged: {found}"


def _register(peer: PeerCase) -> None:
    def test(pack):
        _check(pack, peer)

    test.__name__ = peer.name
    test.__doc__ = f"{peer.suite}: {peer.source} :: {peer.test}" + (f" (ours: {peer.ours})" if peer.ours else "")
    assert peer.name not in globals(), f"two peer cases are named {peer.name}"
    globals()[peer.name] = test


for _peer in CASES:
    _register(_peer)


def test_both_suites_are_translated():
    suites = {c.suite for c in CASES}
    assert suites == {AWSGUARD, COMPLIANCE} and set(EXCLUDED) == suites
    assert sum(c.verdict == "violation" for c in CASES) >= 70


def test_every_deliberate_difference_is_documented():
    """Each difference is stricter, different semantics, or a pulumi_aws 7 default, and RULES.md lists its case."""
    section = (PACK_DIR / "RULES.md").read_text().split("## Where the pack differs from its peers", 1)[-1]
    section = " ".join(section.split())
    for peer in CASES:
        if peer.ours:
            assert peer.ours.split(":")[0] in ("stricter", "different", "v7 default"), peer.name
            assert f"`{peer.source}` {peer.test}" in section, f"RULES.md does not list {peer.source} {peer.test}"


def test_the_prod_config_is_stricter_about_tls_than_the_peers(pack):
    """compliance-policies accepts the TLS 1.2-only ELBSecurityPolicy-FS-1-2-Res-* policies; prod does not."""
    forward_secret = [c for c in CASES if c.source.endswith("configureSecureTls.spec.ts") and c.test in ("#6", "#7")]
    assert len(forward_secret) == 4
    for peer in forward_secret:
        assert not real_findings(run(pack, list(peer.resources), DEV_CONFIG), "lb-listener-require-modern-tls")
        assert real_findings(run(pack, list(peer.resources), PROD_CONFIG), "lb-listener-require-modern-tls")

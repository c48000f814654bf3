"""Mutation score of one module (or folder) with mutmut: `make mutation MODULE=components/apps/ec2_service.py`.

mutmut (settings in pyproject.toml) copies the code to mutants/, runs the module's tests (TEST_MAP below) once
to learn which test reaches which function, then runs each mutant of the module against only the tests that
reach it, failing fast. The map keeps the whole-stack integration tests (a program run each) out of modules
that have focused tests, so a module takes minutes on 2 cores. Equivalent mutants (no test could tell them from
the original) are listed with the reason in bench/mutation_equivalents.txt and left out of the score.

Run: .venv/bin/python bench/mutation.py [--report] PATH...   (PATH: a .py file or a folder under the sources)
"""

import argparse
import json
import math
import os
import random
import sys
from collections import Counter
from pathlib import Path

from mutmut import configuration
from mutmut.__main__ import _run
from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "bench" / "mutation_equivalents.txt"
KILLED = {"killed", "timeout", "caught by type check"}
CONFIG_TESTS = ["test_config.py", "test_config_strict.py", "test_config_secrets.py", "test_feature_config.py"]
REDSHIFT_RENDER_TESTS = [
    "test_redshift_stack.py::test_renderers_refuse_a_path_that_is_not_an_s3_folder",
    "test_redshift_stack.py::test_widerow_rendering_asks_for_json_files",
    "test_redshift_stack.py::test_loader_renderer_holds_only_the_secret_reference",
]
WAREHOUSE_RENDER_TESTS = [
    "test_warehouse_destinations.py::test_snowflake_config_has_the_keys_the_loader_requires_and_a_channel_per_instance",
    "test_warehouse_destinations.py::test_snowflake_passphrase_is_a_placeholder_too",
    "test_warehouse_destinations.py::test_databricks_config_has_the_keys_the_loader_requires",
]
PLAN_TESTS = ["test_plan_snapshot.py", "test_component_tree.py"]
# Source path (longest prefix wins) -> the test files (or test ids) that judge it; paths not listed use every
# test. Files that do not exist yet are skipped, so a "before" score can be taken without the new tests.
TEST_MAP = {
    "policies": [
        *sorted(p.name for p in (ROOT / "tests").glob("test_policies_*.py")),
        # 15-30 s each under mutmut (every rule under every single unknown value): they guard against crashes,
        # the rule tests judge the verdicts; left out of mutation runs for time
        "--deselect=tests/test_policies_unknowns.py::test_no_resource_rule_crashes_on_any_unknown",
        "--deselect=tests/test_policies_unknowns.py::test_no_stack_rule_crashes_on_any_unknown",
        # they plan whole stacks (4-5 s each) to compare the two servicers, which run the same (mutated) rules:
        # they can kill only mutants of the servicer itself (its own entry below keeps them)
        "--deselect=tests/test_policies_fast_analyzer.py::test_same_answers_on_our_own_plans",
        "--deselect=tests/test_policies_fast_analyzer.py::test_the_pack_process_answers_the_same_on_either_servicer",
    ],
    "policies/snowplow_fast_analyzer.py": [
        *sorted(p.name for p in (ROOT / "tests").glob("test_policies_*.py")),
        "--deselect=tests/test_policies_unknowns.py::test_no_resource_rule_crashes_on_any_unknown",
        "--deselect=tests/test_policies_unknowns.py::test_no_stack_rule_crashes_on_any_unknown",
    ],
    # the encryption rules' own tests and those that judge them on other resources or whole compliant stacks: every
    # test of the pack reaches every stack rule, so a surviving stack-rule mutant ran all of them (30 s each)
    "policies/snowplow_encryption.py": [
        "test_policies_encryption.py",
        "test_policies_encryption_verdicts.py",
        "test_policies_branches.py",
        "test_policies_spellings.py",
        "test_policies_pack.py",
        "test_policies_peers.py",
        "test_policies_sizing.py",
        "test_policies_unknowns.py",
        "--deselect=tests/test_policies_unknowns.py::test_no_resource_rule_crashes_on_any_unknown",
        "--deselect=tests/test_policies_unknowns.py::test_no_stack_rule_crashes_on_any_unknown",
    ],
    # the network and log-sink rules are judged by their own tests, the spellings, branches and unknowns; the other
    # rule areas' tests and the peer cases only run them as stack policies (every test reaches them: minutes per
    # surviving mutant)
    "policies/snowplow_network.py": [
        "test_policies_network.py",
        "test_policies_network_meaning.py",
        "test_policies_spellings.py",
        "test_policies_branches.py",
        "test_policies_unknowns.py",
        "--deselect=tests/test_policies_unknowns.py::test_no_resource_rule_crashes_on_any_unknown",
        "--deselect=tests/test_policies_unknowns.py::test_no_stack_rule_crashes_on_any_unknown",
    ],
    # the cost estimator: its own tests and the budget rule's (every pack run prices the stack, so the other rules'
    # tests would reach it too, at seconds per surviving mutant; the preview test plans a whole stack: left out)
    "policies/snowplow_cost.py": [
        "test_cost.py",
        "test_cost_estimate.py",
        "test_policies_sizing.py::test_monthly_budget",
        "test_policies_sizing.py::test_budget_message_names_the_total_region_largest_components_and_budget",
        "test_policies_sizing.py::test_cost_per_million_events_message_and_limit",
        "--deselect=tests/test_cost.py::test_preview_prints_the_cost_and_writes_it_to_the_plan",
    ],
    # the monitoring rules: their own tests and the unknown-value ones (the stack rule runs in every pack test)
    "policies/snowplow_observability.py": [
        "test_policies_observability.py",
        "test_policies_unknowns.py",
        "--deselect=tests/test_policies_unknowns.py::test_no_resource_rule_crashes_on_any_unknown",
        "--deselect=tests/test_policies_unknowns.py::test_no_stack_rule_crashes_on_any_unknown",
    ],
    "policies/snowplow_log_sinks.py": [
        "test_policies_encryption.py",
        "test_policies_log_sinks.py",
        "test_policies_spellings.py",
        "test_policies_unknowns.py",
        "--deselect=tests/test_policies_unknowns.py::test_no_resource_rule_crashes_on_any_unknown",
        "--deselect=tests/test_policies_unknowns.py::test_no_stack_rule_crashes_on_any_unknown",
    ],
    "stack_config": [
        *CONFIG_TESTS,
        "test_enrichments.py",
        "test_capacity.py",
        "test_redshift_config.py",
        # the config checks of the destination and modeling tests (those that parse a config, no program run)
        "test_modeling.py::test_a_schedule_without_a_warehouse_is_an_error_naming_the_keys",
        "test_modeling.py::test_a_schedule_problem_says_which_part_is_wrong",
        "test_modeling.py::test_the_longest_gap_between_runs_is_known_for_rates_and_daily_crons_only",
        "test_modeling.py::test_schedule_expressions_are_checked",
        "test_modeling.py::test_fargate_size_and_timezone_are_checked",
        "test_modeling.py::test_the_named_warehouse_must_be_one_the_stack_loads",
        "test_modeling.py::test_package_is_own_or_snowplow_unified_and_the_error_says_what_unified_means",
        "test_modeling.py::test_every_warehouse_the_stack_loads_can_run_the_models",
        "test_modeling.py::test_two_supported_warehouses_need_the_one_named",
        "test_modeling.py::test_snowflake_needs_the_virtual_warehouse_dbt_runs_on",
        "test_modeling.py::test_databricks_needs_the_sql_warehouse_dbt_runs_on",
        "test_warehouse_destinations.py::test_snowflake_enabled_without_a_key_names_the_key_and_where_a_value_may_go",
        "test_warehouse_destinations.py::test_each_missing_warehouse_setting_is_named",
        "test_warehouse_destinations.py::test_a_credential_comes_from_one_place_only",
        "test_warehouse_destinations.py::test_credentials_in_plain_text_are_refused_without_echoing_them",
        "test_warehouse_destinations.py::test_a_pkcs1_key_is_refused_with_the_conversion_and_never_quoted",
        "test_warehouse_destinations.py::test_an_encrypted_key_needs_its_passphrase",
        "test_warehouse_destinations.py::test_an_undecryptable_value_offline_is_left_to_the_cli",
        "test_warehouse_destinations.py::test_credentials_of_a_disabled_destination_are_refused",
        "test_warehouse_destinations.py::test_identifiers_and_hosts_are_checked",
        "test_warehouse_destinations.py::test_loaders_stay_within_the_enriched_streams_shards",
        "test_warehouse_destinations.py::test_warehouse_messages_name_the_key_what_it_holds_and_where_else_it_may_go",
        "test_warehouse_destinations.py::test_the_passphrase_too_comes_from_one_place_only",
        "test_warehouse_destinations.py::test_a_warehouse_loader_never_outnumbers_the_enriched_shards",
        "test_opensearch.py::test_off_by_default_and_sized_per_environment",
        "test_opensearch.py::test_invalid_settings_name_their_key",
        "test_opensearch.py::test_more_loader_instances_than_shards_and_more_zones_than_subnets_are_rejected",
        "test_opensearch.py::test_each_opensearch_loader_is_held_to_its_own_streams_shards_and_the_zones_to_the_subnets",
        "test_opensearch.py::test_indicative_is_refused_with_the_decision_and_without_echoing_the_value",
        # tests that run the whole program, or every key with hostile text (seconds each, minutes per surviving
        # mutant), are left out
        "--deselect=tests/test_config_strict.py::test_control_characters_overlong_text_and_resolver_references",
        "--deselect=tests/test_config.py::test_preview_exits_1_with_message_and_writes_no_plan",
        "--deselect=tests/test_config.py::test_config_error_happens_before_any_resource_is_registered",
        "--deselect=tests/test_config.py::test_structured_values_round_trip_through_engine_strings",
        "--deselect=tests/test_config.py::test_long_but_valid_stack_names_keep_load_balancer_names_within_32_characters",
        "--deselect=tests/test_config_secrets.py::test_a_foreign_secret_is_rejected_before_any_resource_exists",
        "--deselect=tests/test_config_secrets.py::test_an_allowlisted_foreign_secret_is_accepted_and_granted_with_the_key_that_encrypts_it",
        "--deselect=tests/test_config_secrets.py::test_a_customer_managed_key_of_the_stacks_own_account_may_be_listed_too",
        "--deselect=tests/test_config_secrets.py::test_a_secret_read_across_accounts_without_its_key_is_rejected_naming_both_keys",
        "--deselect=tests/test_config_secrets.py::test_a_listed_key_must_be_an_exact_key_arn_that_encrypts_a_referenced_secret",
        "--deselect=tests/test_config_secrets.py::test_a_nested_secure_leaf_previews_offline_and_makes_what_it_renders_secret",
        "--deselect=tests/test_config_secrets.py::test_a_whole_key_set_with_secret_previews_offline_with_its_defaults_and_a_warning",
        "--deselect=tests/test_config_secrets.py::test_a_secret_key_as_the_cli_passes_it_keeps_every_rendered_value_secret",
        "--deselect=tests/test_config_secrets.py::test_a_secret_iglu_key_stays_secret_in_the_iglu_server_and_postgres_loader_too",
        "--deselect=tests/test_config_secrets.py::test_secure_values_of_keys_that_cannot_be_secret_stop_the_preview",
        "--deselect=tests/test_config_secrets.py::test_an_undecryptable_leaf_that_fails_its_check_says_why",
        "--deselect=tests/test_config_strict.py::test_without_aws_region_the_provider_environment_variable_is_used",
        "--deselect=tests/test_config_strict.py::test_hostile_text_is_rejected_or_lands_only_as_json_strings",
    ],
    # offline/: focused tests on small plans and hand-built runs; the whole-stack previews are left out
    "offline/cost.py": [
        "test_cost.py",
        "test_mutation_cost.py",
        "--deselect=tests/test_cost.py::test_preview_prints_the_cost_and_writes_it_to_the_plan",
    ],
    "offline/engine.py": ["test_engine.py", "test_mutation_engine.py"],
    "offline/diagram.py": ["test_mutation_diagram.py"],
    "offline/mocks.py": ["test_engine.py", "test_mutation_mocks.py"],
    # the driver. Under mutmut the real pack answers in-process; the tests that start a pack of their own as a
    # process (the tiny pack of test_mutation_policy.py, the broken packs of test_policies_pack.py, the slow pack of
    # test_call_window.py) judge start/_read_port/close/kill and the window. Run it on an idle machine: a pack
    # process started at `nice -n 19` on a busy one can starve past its 30 s start timeout.
    "offline/policy.py": ["test_policies_pack.py", "test_mutation_policy.py", "test_call_window.py"],
    "offline/call_window.py": ["test_call_window.py"],
    "offline/preview.py": [
        "test_preview.py",
        "test_mutation_preview.py",
        # whole shipped stacks, or the preview as its own process / through make (seconds each)
        "--deselect=tests/test_preview.py::test_shipped_stacks_preview_cleanly",
        "--deselect=tests/test_preview.py::test_prod_plan_encrypts_every_stream_with_the_rotating_stack_key",
        "--deselect=tests/test_preview.py::test_command_line_entry_point_exit_codes",
        "--deselect=tests/test_preview.py::test_the_plan_is_identical_from_run_to_run",
        "--deselect=tests/test_preview.py::test_make_preview_names_the_preview_exit_code_it_cannot_return",
        "--deselect=tests/test_preview.py::test_resources_analysed_as_registered_get_the_batch_verdict",
    ],
    "components/apps/collector_config.py": ["test_collector_config.py", "test_config_strict.py"],
    "components/apps/ec2_service.py": [
        "test_ec2_service.py",
        # the boot-wiring tests on a small program (the others plan whole stacks: minutes per surviving mutant)
        "test_boot_wiring.py::test_hooks_reach_the_boot_script",
        "test_boot_wiring.py::test_secret_arns_given_as_outputs_are_granted_exactly",
        "test_boot_wiring.py::test_secret_file_content_stays_secret_through_manifest_and_user_data",
    ],
    # The rendered app configs and helpers (pure: data in, text out): their focused tests and the whole-document
    # checks of tests/test_mutation_rendered.py; the tests that plan whole stacks (seconds each) are left out.
    "components/apps/consumer_configs.py": ["test_mutation_rendered.py"],
    "components/apps/enrichment_files.py": ["test_enrichments.py", "test_mutation_rendered.py"],
    "components/apps/iglu_resolver.py": ["test_iglu_resolver.py", "test_mutation_rendered.py"],
    "components/apps/iglu_server_config.py": ["test_feature_configs_rendered.py", "test_mutation_rendered.py"],
    "components/apps/hocon.py": [
        "test_feature_configs_rendered.py",
        "test_collector_config.py",
        "test_mutation_rendered.py",
    ],
    # mutmut mutates the Python that renders the script (its bash templates are module constants, never mutated):
    # the focused checks load the rendered parts into bash; of the whole boots on a fake host (seconds each, minutes
    # per surviving mutant) one good boot and the shellcheck pass are kept
    "components/apps/boot_script.py": [
        "test_mutation_boot_script.py",
        "test_boot_script.py::test_good_fetch_starts_the_app_with_secrets_resolved_and_files_private",
        "test_boot_script.py::test_rendered_scripts_pass_shellcheck",
    ],
    "components/destinations/postgres_loader_config.py": [
        "test_feature_configs_rendered.py",
        "test_mutation_rendered.py",
    ],
    "components/destinations/redshift_transformer_config.py": [*REDSHIFT_RENDER_TESTS, "test_mutation_rendered.py"],
    "components/destinations/redshift_loader_config.py": [*REDSHIFT_RENDER_TESTS, "test_mutation_rendered.py"],
    "components/destinations/snowflake_loader_config.py": [*WAREHOUSE_RENDER_TESTS, "test_mutation_rendered.py"],
    "components/destinations/databricks_loader_config.py": [*WAREHOUSE_RENDER_TESTS, "test_mutation_rendered.py"],
    "components/destinations/elasticsearch_loader_config.py": [
        "test_opensearch.py::test_loader_config_pins_signing_https_polling_and_failures",
        "test_opensearch.py::test_index_templates_map_whole_values_and_the_geo_point",
        "test_opensearch.py::test_setup_script_is_valid_bash_and_puts_each_file_signed",
        "test_mutation_rendered.py",
    ],
    "components/analysis/enriched_format.py": [
        "test_analysis.py::test_queries_read_only_columns_the_tables_have",
        "test_smoke.py::test_enriched_format_has_131_fields",
        "test_mutation_rendered.py",
    ],
    "components/modeling/project_archive.py": [
        "test_modeling.py::test_archive_is_reproducible_and_leaves_build_output_out",
        "test_mutation_rendered.py",
    ],
    "components/observability/signals.py": ["test_mutation_rendered.py"],
    # The ComponentResource modules are judged by the plan snapshots of the shipped stacks, the component tree and
    # the tests of their layer, each of which plans a whole stack (about a second each): the other layers' tests
    # and the previews are left out, which can only lower the score (a mutant they would kill counts as surviving).
    "components/platform": [
        *PLAN_TESTS,
        "test_network.py",
        "test_streams.py",
        "test_event_path.py",
        "test_privileges.py",
        "test_tags.py",
    ],
    "components/platform/database.py": [*PLAN_TESTS, "test_postgres_bootstrap.py", "test_iglu_postgres_stack.py"],
    "components/platform/database_bootstrap.py": [
        *PLAN_TESTS,
        "test_postgres_bootstrap.py",
        "test_iglu_postgres_stack.py",
    ],
    "components/apps": [
        *PLAN_TESTS,
        "test_event_path.py",
        "test_boot_wiring.py",
        "test_privileges.py",
        "test_iglu_postgres_stack.py",
        "test_iglu_keys.py",
        "test_ec2_service.py",
    ],
    "components/context.py": [*PLAN_TESTS, "test_boot_wiring.py", "test_ec2_service.py", "test_event_path.py"],
    "components/destinations": [
        *PLAN_TESTS,
        "test_redshift_stack.py",
        "test_opensearch.py",
        "test_warehouse_destinations.py",
        "test_iglu_postgres_stack.py",
    ],
    "components/modeling": [*PLAN_TESTS, "test_modeling.py"],
    "components/analysis": [*PLAN_TESTS, "test_analysis.py"],
    "components/observability": [*PLAN_TESTS, "test_observability.py"],
}


# The shared helpers' own tests (tests/test_mutation_policy_util.py) join the rule tests for them.
TEST_MAP["policies/snowplow_policy_util.py"] = [*TEST_MAP["policies"], "test_mutation_policy_util.py"]
# The servicer compared with the stock one on every path a policy can take (async, not applicable, levels, links).
TEST_MAP["policies/snowplow_fast_analyzer.py"].append("test_mutation_fast_analyzer.py")


def tests_for(paths: list[str]) -> list[str] | None:
    """The mapped test files of all `paths`, or None (every test) when one of them has no entry."""
    files: set[str] = set()
    for path in paths:
        keys = [k for k in TEST_MAP if path.strip("/") == k or path.startswith(k.rstrip("/") + "/")]
        if not keys:
            return None
        files.update(TEST_MAP[max(keys, key=len)])
    options = sorted(f for f in files if f.startswith("-"))
    present = [f"tests/{f}" for f in sorted(files - set(options)) if (ROOT / "tests" / f.split("::")[0]).exists()]
    return present + options


def module_glob(path: str) -> str:
    """mutmut's mutant-name pattern for a file or folder: components/apps/x.py -> components.apps.x.*"""
    dotted = path.strip("/").removesuffix(".py").replace("/", ".")
    return f"{dotted}.*"


def equivalents() -> dict[str, str]:
    """{mutant name: why it is equivalent} from EQUIVALENTS (`name  reason`, # comments)."""
    listed = {}
    for line in EQUIVALENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, reason = line.partition(" ")
            listed[name] = reason.strip()
    return listed


def _metas(path: str) -> list[Path]:
    """mutmut's result files of the module, or of every module under the folder, at `path`."""
    target = ROOT / "mutants" / path
    return [Path(str(target) + ".meta")] if path.endswith(".py") else sorted(target.rglob("*.py.meta"))


def results(path: str) -> dict[str, str]:
    """{mutant name: status} for every mutant mutmut made in the file(s) under `path`."""
    metas = _metas(path)
    statuses = {}
    for meta in metas:
        if meta.exists():
            for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
                statuses[name] = status_by_exit_code[code]
    return statuses


def keep_earlier_kills(path: str, earlier: dict[str, str]) -> None:
    """Mark killed again, in mutmut's results, each mutant an earlier run killed that this run did not re-run
    (same mutant name: its function is unchanged). Only valid when tests were added, not weakened."""
    metas = _metas(path)
    for meta in metas:
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for name, code in codes.items():
            if code is None and earlier.get(name) in KILLED:
                codes[name] = 1
        meta.write_text(json.dumps(data))


def score_line(path: str, statuses: dict[str, str], listed: dict[str, str]) -> tuple[str, list[str]]:
    """One summary line and the names of the surviving (non-equivalent) mutants."""
    set_apart = {n for n, s in statuses.items() if n in listed and s not in KILLED}
    import_time = {n for n in set_apart if listed[n].startswith("import-time")}
    equivalent = set_apart - import_time
    counted = {n: s for n, s in statuses.items() if n not in set_apart}
    tally = Counter(counted.values())
    killed = sum(tally[s] for s in KILLED)
    unchecked = tally["not checked"]
    scored = len(counted) - unchecked
    survivors = sorted(n for n, s in counted.items() if s not in KILLED and s != "not checked")
    percent = f"{100 * killed / scored:.1f}%" if scored else "n/a"
    line = (
        f"{path}: {percent} killed ({killed} of {scored} non-equivalent mutants; {len(equivalent)} equivalent"
        + (f", {len(import_time)} run at import (mutmut cannot judge them)" if import_time else "")
        + "; "
        f"{tally['survived']} survived, {tally['no tests']} reached by no test"
        + (f", {unchecked} not checked yet" if unchecked else "")
        + ")"
    )
    return line, survivors


def samples_file(seed: int) -> Path:
    """{mutant name: status} of each mutant a sample with this seed ran, kept across runs."""
    return ROOT / "mutants" / f"samples-seed-{seed}.json"


def sample_names(path: str, fraction: float, seed: int) -> list[str]:
    """A random share of each module's mutants (at least one per module), the same for the same seed and source."""
    metas = _metas(path)
    chosen = []
    for meta in metas:
        names = sorted(json.loads(meta.read_text())["exit_code_by_key"]) if meta.exists() else []
        if names:
            count = max(1, round(fraction * len(names)))
            chosen += random.Random(f"{seed}:{meta.name}").sample(names, count)
    if not chosen:
        raise SystemExit(f"{path}: mutmut has made no mutants of it yet (run `make mutation MODULE={path}` once)")
    return chosen


def _kept(seed: int) -> dict[str, str]:
    return json.loads(samples_file(seed).read_text()) if samples_file(seed).exists() else {}


def keep_sample_results(names: list[str], statuses: dict[str, str], seed: int) -> None:
    kept = _kept(seed)
    kept.update({name: statuses[name] for name in names if statuses.get(name) not in (None, "not checked")})
    samples_file(seed).write_text(json.dumps(kept, indent=1, sort_keys=True))


def wilson(killed: int, total: int) -> tuple[float, float]:
    """The 95 % Wilson interval of a killed share measured on a random sample."""
    if not total:
        return 0.0, 1.0
    z, share = 1.96, killed / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def sample_score_line(path: str, listed: dict[str, str], seed: int) -> tuple[str, list[str]]:
    """The killed share of the sampled mutants of `path` (equivalents left out) and the sampled survivors."""
    kept = _kept(seed)
    everything = results(path)
    sampled = {n: kept[n] for n in everything if n in kept and not (n in listed and kept[n] not in KILLED)}
    killed = sum(status in KILLED for status in sampled.values())
    low, high = wilson(killed, len(sampled))
    survivors = sorted(n for n, status in sampled.items() if status not in KILLED)
    percent = f"{100 * killed / len(sampled):.1f}%" if sampled else "n/a"
    line = (
        f"{path}: {percent} killed in a random sample ({killed} of {len(sampled)} sampled non-equivalent mutants, "
        f"of {len(everything)} in all; 95% interval {100 * low:.1f}-{100 * high:.1f}%)"
    )
    return line, survivors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="module file or folder, e.g. policies/snowplow_network.py")
    parser.add_argument("--report", action="store_true", help="print the scores of the last run, run nothing")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATION_JOBS", "1")))
    parser.add_argument(
        "--sample",
        type=float,
        metavar="FRACTION",
        help="run (or report) only a random share of each module's mutants, e.g. 0.1; the score is an estimate",
    )
    parser.add_argument("--seed", type=int, default=1, help="which random sample --sample takes")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="re-run only the mutants the last run did not kill (after adding tests); earlier kills are kept",
    )
    args = parser.parse_args()
    os.chdir(ROOT)
    if not args.report:
        selected = tests_for(args.paths)
        if selected:
            configuration.config().pytest_add_cli_args_test_selection = selected
        names = [module_glob(p) for p in args.paths]
        before = {p: results(p) for p in args.paths}
        if args.sample:
            names = [n for p in args.paths for n in sample_names(p, args.sample, args.seed)]
        if args.survivors:
            listed = equivalents()
            names = [n for p in args.paths for n in score_line(p, before[p], listed)[1]]
            if not names:
                print("no survivors to re-run")
        print(f"mutmut run {len(names)} name(s) of {' '.join(args.paths)} against {selected or 'every test'}")
        if names:
            _run(names, args.jobs)
        if args.survivors:  # mutmut forgets earlier kills when tests change; added tests cannot revive a mutant
            for path in args.paths:
                keep_earlier_kills(path, before[path])
        if args.sample:
            keep_sample_results(names, {n: s for p in args.paths for n, s in results(p).items()}, args.seed)
    listed = equivalents()
    print()
    for path in args.paths:
        if args.sample:
            line, survivors = sample_score_line(path, listed, args.seed)
        else:
            line, survivors = score_line(path, results(path), listed)
        print(line)
        for name in survivors:
            print(f"    survived: {name}   (see: .venv/bin/mutmut show {name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

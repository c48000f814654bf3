"""The dbt projects' files: one connection contract for both, secrets only from the environment, pinned packages."""

import re

import yaml

from tests.conftest import ROOT

OPEN, UNIFIED = ROOT / "modeling" / "dbt", ROOT / "modeling" / "unified"
TARGETS = {"postgres", "redshift", "snowflake", "databricks"}


def profile(project) -> dict:
    profiles = yaml.safe_load((project / "profiles.yml").read_text())
    project_file = yaml.safe_load((project / "dbt_project.yml").read_text())
    return profiles[project_file["profile"]]


def test_both_projects_connect_through_the_same_profile():
    assert (OPEN / "profiles.yml").read_text() == (UNIFIED / "profiles.yml").read_text()
    assert set(profile(OPEN)["outputs"]) == TARGETS


def test_every_connection_value_comes_from_an_environment_variable():
    for name, output in profile(OPEN)["outputs"].items():
        for key, value in output.items():
            if key != "type":
                assert re.fullmatch(r"\{\{ env_var\('DBT_[A-Z_]+'(, '[^']*')?\)( \| as_number)? \}\}", value), (
                    name,
                    key,
                )
        # No default: an unset secret is an error. Snowflake authenticates with a key pair (its loader's user has no
        # password), the others with a password or token.
        if name == "snowflake":
            assert "password" not in output
            assert output["private_key"] == "{{ env_var('DBT_ENV_SECRET_PRIVATE_KEY') }}"
            secrets = [output["private_key"], output["private_key_passphrase"]]
        else:
            secrets = [output.get("password", output.get("token"))]
            assert secrets == ["{{ env_var('DBT_ENV_SECRET_PASSWORD') }}"], name
        assert all("DBT_ENV_SECRET_" in secret for secret in secrets), name


def test_the_readme_documents_every_variable_the_profile_reads():
    readme = (OPEN / "README.md").read_text()
    used = set(re.findall(r"env_var\('(DBT_[A-Z_]+)'", (OPEN / "profiles.yml").read_text()))
    assert used >= {"DBT_HOST", "DBT_USER", "DBT_ENV_SECRET_PASSWORD", "DBT_DATABASE", "DBT_SCHEMA"}
    assert {name for name in used if f"`{name}`" not in readme} == set()


def test_the_open_models_need_no_package_and_snowplow_unified_is_pinned_and_not_pre_accepted():
    assert not (OPEN / "packages.yml").exists() and not (OPEN / "dependencies.yml").exists()
    packages = yaml.safe_load((UNIFIED / "packages.yml").read_text())["packages"]
    assert packages == [{"package": "snowplow/snowplow_unified", "version": "1.0.0"}]
    unified_vars = yaml.safe_load((UNIFIED / "dbt_project.yml").read_text())["vars"]["snowplow_unified"]
    assert unified_vars["snowplow__license_accepted"] is False
    assert not list(UNIFIED.rglob("*.sql")), "no Snowplow SQL is vendored"

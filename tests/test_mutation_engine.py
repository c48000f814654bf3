"""The mock engine as a user of `make preview` meets it: the plan entries it records (tree, protection, dependencies,
secrets masked), the warnings and outputs it collects, how it reads a stack file, and the mocks it picks."""

import json
import re
import sys

import pytest
import yaml

from offline.engine import (
    MASK,
    SECRET_SIG,
    SECRET_VALUE,
    StackFile,
    default_mocks,
    mask_secrets,
    project_name,
    run_program,
    stack_deployment,
)
from offline.mocks import SnowplowMocks
from stack_config import ConfigError
from stack_config.secrecy import UNDECRYPTED
from tests.conftest import write_stack

PROGRAM = """
import pulumi
import pulumi_aws as aws

import engine_test_sibling  # beside __main__.py: the project folder is importable, as under the CLI
from stack_config.load import secret_namespace_keys


class App(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("snowplow:test:App", name)
        self.key = aws.kms.Key(
            "key",
            description=pulumi.Output.secret("hidden words"),
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        self.register_outputs({})


app = App("app")
other = aws.kms.Key("b-key", description="plain")
alias = aws.kms.Alias("alias", name="alias/x", target_key_id=app.key.id, opts=pulumi.ResourceOptions(depends_on=[app, other]))
pulumi.log.warn(f"careful: {engine_test_sibling.WORD}")
pulumi.log.info("chatty")
pulumi.export("alias", alias.name)
pulumi.export("hidden", pulumi.Output.secret("s3cr3t"))
pulumi.export("count", 3)
pulumi.export("key_arn", app.key.arn)
pulumi.export("run_as", __name__)
pulumi.export("secret_keys", sorted(secret_namespace_keys()))
"""

STACK = "urn:pulumi:t::snowplow::pulumi:pulumi:Stack::snowplow-t"
APP = "urn:pulumi:t::snowplow::pulumi:pulumi:Stack$snowplow:test:App::app"
KEY = "urn:pulumi:t::snowplow::snowplow:test:App$aws:kms/key:Key::key"
B_KEY = "urn:pulumi:t::snowplow::pulumi:pulumi:Stack$aws:kms/key:Key::b-key"
ALIAS = "urn:pulumi:t::snowplow::pulumi:pulumi:Stack$aws:kms/alias:Alias::alias"


@pytest.fixture
def small_program(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "engine_test_sibling", raising=False)
    (tmp_path / "Pulumi.yaml").write_text("name: snowplow\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    (tmp_path / "engine_test_sibling.py").write_text('WORD = "sibling"\n')
    return tmp_path


def test_every_registration_is_recorded_in_a_stable_order_with_its_tree_options_and_dependencies(small_program):
    stack = write_stack(small_program, "t", {"aws:region": "eu-west-1"})
    seen = []
    run = run_program(StackFile.read(stack), project_dir=small_program, on_register=seen.append)
    assert (run.project, run.stack) == ("snowplow", "t")
    # the stack first, then everything else by URN
    assert [r["urn"] for r in run.resources] == [STACK, ALIAS, B_KEY, APP, KEY]
    by_urn = {r["urn"]: r for r in run.resources}
    assert by_urn[STACK] == {
        "urn": STACK,
        "type": "pulumi:pulumi:Stack",
        "name": "snowplow-t",
        "custom": False,
        "parent": None,
        "inputs": {},
        "protect": False,
        "retainOnDelete": False,
        "dependencies": [],
        "propertyDependencies": {},
    }
    assert by_urn[KEY] == {
        "urn": KEY,
        "type": "aws:kms/key:Key",
        "name": "key",
        "custom": True,
        "parent": APP,
        "inputs": {"description": MASK},
        "protect": True,
        "retainOnDelete": True,
        "dependencies": [],
        "propertyDependencies": {"description": []},
    }
    assert by_urn[APP]["custom"] is False and by_urn[APP]["parent"] == STACK
    alias = by_urn[ALIAS]
    assert alias["protect"] is False and alias["retainOnDelete"] is False
    assert alias["inputs"]["name"] == "alias/x"
    assert alias["dependencies"] == [B_KEY, KEY]  # sorted, the component's children included
    assert alias["propertyDependencies"] == {"name": [], "targetKeyId": [KEY]}
    assert list(alias["propertyDependencies"]) == ["name", "targetKeyId"]
    # the callback saw each entry as it was registered, the plan's own dicts
    assert sorted(r["urn"] for r in seen) == sorted(by_urn)
    assert all(any(r is s for s in run.resources) for r in seen)
    # the secret is masked in the plan, revealed only for rendering files
    assert run.revealed_inputs[KEY] == {"description": "hidden words"}
    assert "hidden words" not in json.dumps(run.resources)
    key_arn = run.outputs.pop("key_arn")
    assert re.fullmatch(r"arn:aws:kms:eu-west-1:123456789012:key/[0-9a-f-]{36}", key_arn)  # the stack's region
    assert run.outputs == {
        "alias": "alias/x",
        "hidden": "s3cr3t",
        "count": 3,
        "run_as": "__main__",  # run as the CLI runs it
        "secret_keys": [],
    }
    assert run.secret_outputs == {"hidden"}
    assert run.warnings == ["careful: sibling"]  # warnings only, as the CLI shows them


def test_the_project_name_comes_from_pulumi_yaml(small_program):
    (small_program / "Pulumi.yaml").write_text("name: other-name\nruntime: python\n")
    assert project_name(small_program) == "other-name"
    stack = write_stack(small_program, "t", {"aws:region": "eu-west-1"})
    run = run_program(StackFile.read(stack), project_dir=small_program)
    assert run.project == "other-name"
    assert run.resources[0]["urn"] == "urn:pulumi:t::other-name::pulumi:pulumi:Stack::other-name-t"


def test_mask_secrets_masks_or_reveals_envelopes_at_any_depth():
    secret = {SECRET_SIG: SECRET_VALUE, "value": {"password": "pw"}}
    lookalike = {SECRET_SIG: "something else", "value": "seen"}
    value = {"a": [1, secret, {"b": secret}], "c": lookalike, "d": "plain"}
    assert mask_secrets(value) == {"a": [1, MASK, {"b": MASK}], "c": lookalike, "d": "plain"}
    revealed = {"password": "pw"}
    assert mask_secrets(value, reveal=True) == {"a": [1, revealed, {"b": revealed}], "c": lookalike, "d": "plain"}
    nested = {SECRET_SIG: SECRET_VALUE, "value": [{SECRET_SIG: SECRET_VALUE, "value": "inner"}]}
    assert mask_secrets(nested, reveal=True) == ["inner"]


def _stack_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return StackFile.read(path)


def test_a_stack_file_becomes_the_engines_string_map(tmp_path):
    config = {
        "aws:region": "eu-west-1",
        "snowplow:count": 3,
        "snowplow:flag": True,
        "snowplow:nested": {"a": [1, "x"]},
    }
    stack_file = _stack_file(tmp_path, "Pulumi.my.stack.yml", yaml.safe_dump({"config": config}))
    assert stack_file.stack == "my.stack"
    assert stack_file.path == tmp_path / "Pulumi.my.stack.yml"
    assert stack_file.config == {
        "aws:region": "eu-west-1",
        "snowplow:count": "3",
        "snowplow:flag": "true",
        "snowplow:nested": '{"a": [1, "x"]}',
    }
    assert stack_file.secret_keys == []


def test_an_empty_stack_file_has_no_config(tmp_path):
    for text in ("", "config:\n", "encryptionsalt: abc\n"):
        stack_file = _stack_file(tmp_path, "Pulumi.empty.yaml", text)
        assert (stack_file.stack, stack_file.config, stack_file.secret_keys) == ("empty", {}, [])


def test_only_pulumi_stack_yaml_files_are_read(tmp_path):
    for name in ("Pulumi.dev.json", "dev.yaml", "Stack.dev.yaml"):
        (tmp_path / name).write_text("config: {}\n")
        with pytest.raises(ValueError) as error:
            StackFile.read(tmp_path / name)
        assert str(error.value) == f"{tmp_path / name}: a stack file is named Pulumi.<stack>.yaml"
    with pytest.raises(ValueError) as error:
        _stack_file(tmp_path, "Pulumi.list.yaml", "config:\n  - a\n")
    assert str(error.value) == f"{tmp_path / 'Pulumi.list.yaml'}: `config` must be a mapping of keys to values"


def test_secure_leaves_become_the_placeholder_and_mark_their_top_level_key_secret(tmp_path):
    config = {
        "aws:region": "eu-west-1",
        "snowplow:whole": {"secure": "v1:aaa"},
        "snowplow:deep": {"a": {"b": {"secure": "v1:bbb"}}, "c": "plain"},
        "snowplow:listed": ["x", {"secure": "v1:ccc"}],
        "snowplow:plainlist": ["x", {"y": 1}],
        # look like secure leaves but are not: another key beside it, or not a ciphertext string
        "snowplow:twokeys": {"secure": "v1:ddd", "other": 1},
        "snowplow:number": {"secure": 5},
    }
    stack_file = _stack_file(tmp_path, "Pulumi.s.yaml", yaml.safe_dump({"config": config}))
    assert stack_file.secret_keys == ["snowplow:deep", "snowplow:listed", "snowplow:whole"]  # file order
    assert stack_file.config["snowplow:whole"] == UNDECRYPTED
    assert json.loads(stack_file.config["snowplow:deep"]) == {"a": {"b": UNDECRYPTED}, "c": "plain"}
    assert json.loads(stack_file.config["snowplow:listed"]) == ["x", UNDECRYPTED]
    assert json.loads(stack_file.config["snowplow:plainlist"]) == ["x", {"y": 1}]
    assert json.loads(stack_file.config["snowplow:twokeys"]) == {"secure": "v1:ddd", "other": 1}
    assert json.loads(stack_file.config["snowplow:number"]) == {"secure": 5}
    assert "v1:aaa" not in json.dumps(stack_file.config)


BASE = {"snowplow:environment": "dev", "snowplow:acceptLimitedUseLicense": True}


def test_a_stack_deployment_is_the_programs_own_parse_of_the_stack_file(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    path = write_stack(tmp_path, "mine", {**BASE, "aws:region": "eu-west-1", "other:thing": "ignored"})
    deployment = stack_deployment(StackFile.read(path))
    assert (deployment.project, deployment.stack, deployment.region) == ("snowplow", "mine", "eu-west-1")
    assert deployment.prefix == "snowplow-mine"
    assert deployment.secret_keys == frozenset()
    (tmp_path / "Pulumi.yaml").write_text("name: renamed\n")
    assert stack_deployment(StackFile.read(path), project_dir=tmp_path).prefix == "renamed-mine"


def test_a_stack_deployment_takes_the_region_from_the_environment_and_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    path = write_stack(tmp_path, "t", BASE)
    assert stack_deployment(StackFile.read(path)).region == "eu-central-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "moon-2")
    with pytest.raises(ConfigError) as error:
        stack_deployment(StackFile.read(path))
    assert "aws:region (not set, so AWS_DEFAULT_REGION is used, as the provider does)" in str(error.value)


def test_a_stack_deployment_knows_which_snowplow_keys_were_set_with_secret(tmp_path):
    secure = {"secure": "v1:abc"}
    path = write_stack(tmp_path, "t", {**BASE, "aws:region": "eu-west-1", "aws:secretKey": secure})
    assert stack_deployment(StackFile.read(path)).secret_keys == frozenset()
    path = write_stack(tmp_path, "t", {**BASE, "aws:region": "eu-west-1", "snowplow:environment": secure})
    with pytest.raises(ConfigError) as error:
        stack_deployment(StackFile.read(path))
    assert "snowplow:environment: was set with --secret" in str(error.value)


def _mocks_for(tmp_path, config):
    return default_mocks(StackFile.read(write_stack(tmp_path, "m", config)))


def test_default_mocks_answer_in_the_stacks_region_and_an_adopted_vpc(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    default_vpc = _mocks_for(tmp_path, {}).default_vpc_id
    mocks = _mocks_for(tmp_path, {"aws:region": "eu-north-1"})
    assert (mocks.region, mocks.default_vpc_id) == ("eu-north-1", default_vpc)
    assert _mocks_for(tmp_path, {}).region == "us-east-1"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert _mocks_for(tmp_path, {}).region == "ap-south-1"
    adopted = {"aws:region": "eu-west-1", "snowplow:network": {"existing": {"vpcId": "vpc-0123"}}}
    assert _mocks_for(tmp_path, adopted).default_vpc_id == "vpc-0123"
    # whatever the network key holds, the mocks still answer (the program reports the config error itself)
    for network in ("not json {", ["a"], {"existing": "vpc-1"}, {"existing": {"vpcId": 5}}, {"existing": None}):
        mocks = _mocks_for(tmp_path, {"aws:region": "eu-west-1", "snowplow:network": network})
        assert (mocks.region, mocks.default_vpc_id) == ("eu-west-1", default_vpc)


def test_warnings_stay_with_their_own_run_and_are_not_logged_twice(small_program, caplog):
    stack = write_stack(small_program, "t", {"aws:region": "eu-west-1"})
    first = run_program(StackFile.read(stack), project_dir=small_program)
    second = run_program(StackFile.read(stack), project_dir=small_program)
    assert first.warnings == second.warnings == ["careful: sibling"]
    assert first.warnings is not second.warnings
    # shown once, by the preview, not again through the root logger
    assert not [r for r in caplog.records if "careful" in r.getMessage()]


def test_the_program_runs_first_on_its_own_path_with_the_mocks_and_secret_keys_given(small_program, tmp_path_factory):
    decoy = tmp_path_factory.mktemp("decoy")
    (decoy / "engine_test_sibling.py").write_text('WORD = "decoy"\n')
    sys.path.insert(0, str(decoy))  # a module of the same name earlier on the path must not win
    stack = write_stack(small_program, "t", {"aws:region": "eu-west-1", "snowplow:pw": {"secure": "v1:x"}})
    run = run_program(StackFile.read(stack), project_dir=small_program, mocks=SnowplowMocks("ap-south-1"))
    assert run.warnings == ["careful: sibling"]
    assert run.outputs["key_arn"].startswith("arn:aws:kms:ap-south-1:")  # the mocks given, not the stack's
    assert run.outputs["secret_keys"] == ["pw"]  # the program knows which keys were set with --secret
    run_program(StackFile.read(stack), project_dir=small_program)
    assert sys.path.count(str(small_program)) == 1  # added once, however often it runs

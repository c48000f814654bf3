"""The mock engine harness records what the engine would receive, with secrets masked."""

import json

from offline.engine import StackFile, run_program
from offline.preview import plan_document
from tests.conftest import write_stack

PROGRAM = """
import pulumi
import pulumi_aws as aws

aws.ssm.Parameter("token", name="/snowplow/token", type="SecureString", value=pulumi.Output.secret("hunter2"))
pulumi.export("token", pulumi.Output.secret("hunter2"))
pulumi.export("plain", "visible")
"""


def test_secret_inputs_and_outputs_are_masked_in_the_plan(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: snowplow\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    stack = write_stack(tmp_path, "t", {"aws:region": "eu-west-1"})
    run = run_program(StackFile.read(stack), project_dir=tmp_path)
    document = plan_document(run)
    (parameter,) = [r for r in document["resources"] if r["type"] == "aws:ssm/parameter:Parameter"]
    assert parameter["inputs"]["value"] == "[secret]"
    assert parameter["inputs"]["type"] == "SecureString"
    assert document["outputs"] == {"token": "[secret]", "plain": "visible"}
    assert "hunter2" not in json.dumps(document)


def test_secure_config_values_reach_the_program_as_secrets(tmp_path):
    stack = write_stack(tmp_path, "s", {"aws:region": "eu-west-1", "snowplow:dbPassword": {"secure": "v1:abc"}})
    stack_file = StackFile.read(stack)
    assert stack_file.secret_keys == ["snowplow:dbPassword"]
    assert "v1:abc" not in json.dumps(stack_file.config)

"""The README's policy-pack rule table, generated from the running pack and both config files.

    .venv/bin/python -m tests.readme_rules            # prints the tables
    .venv/bin/python -m tests.readme_rules --write    # replaces them in README.md (under "### Rules")

`tests/test_policies_pack.py` checks that every rule's row in the README is exactly what this renders.
"""

import sys

from google.protobuf import json_format

from offline.policy import PolicyPackProcess, analyzer_pb2
from tests.policy_helpers import DEV_CONFIG, PACK_DIR, PROD_CONFIG

SECTIONS = (
    ("Encryption", "snowplow_encryption"),
    ("Network and host security", "snowplow_network"),
    ("IAM and key policies", "snowplow_iam"),
    ("Sizing", "snowplow_sizing"),
    ("Data protection", "snowplow_data_protection"),
    ("Tagging", "snowplow_tagging"),
    ("Monitoring", "snowplow_observability"),
)
HEADER = "| Rule | dev | prod | Kind | What it checks | Config (default; dev / prod) |\n|---|---|---|---|---|---|"


def _value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list):
        if len(value) > 3:
            return f"{len(value)} entries"
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value).replace("*", "\\*").replace("|", "\\|")


def _config_cell(schema: dict, dev: dict, prod: dict) -> str:
    lines = []
    for prop, spec in sorted(schema.items()):
        default = spec.get("default")
        text = _value(default)
        if not (dev.get(prop) == prod.get(prop) == default):
            text += f"; {_value(dev.get(prop))} / {_value(prod.get(prop))}"
        lines.append(f"`{prop}` ({text})")
    return "<br>".join(lines) or "—"


def rows(pack) -> dict[str, str]:
    """{policy name: its README row}."""
    dev, prod = pack.complete_config(DEV_CONFIG), pack.complete_config(PROD_CONFIG)
    result = {}
    for info in pack.info.policies:
        schema = json_format.MessageToDict(info.configSchema).get("properties", {})
        kind = "stack" if info.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource"
        description = info.description.replace("|", "\\|")
        config = _config_cell(schema, dev[info.name][1], prod[info.name][1])
        result[info.name] = (
            f"| `{info.name}` | {dev[info.name][0]} | {prod[info.name][0]} | {kind} | {description} | {config} |"
        )
    return result


def tables(pack) -> str:
    sys.path.insert(0, str(PACK_DIR))
    by_name = rows(pack)
    out = []
    for title, module_name in SECTIONS:
        module = __import__(module_name)
        out += [f"#### {title}", "", HEADER, *(by_name[p.name] for p in module.POLICIES), ""]
    return "\n".join(out)


def write_readme(text: str) -> None:
    """Replace everything from the first rule section heading to the end of the last rule table."""
    readme = PACK_DIR.parent / "README.md"
    content = readme.read_text()
    start = content.index(f"#### {SECTIONS[0][0]}")
    last = content.index(f"#### {SECTIONS[-1][0]}")
    end = content.index("\n\n", content.index("\n| `", last))
    readme.write_text(content[:start] + text.rstrip() + content[end:])


if __name__ == "__main__":
    with PolicyPackProcess(PACK_DIR).start() as process:
        rendered = tables(process)
    if "--write" in sys.argv[1:]:
        write_readme(rendered)
    else:
        print(rendered)

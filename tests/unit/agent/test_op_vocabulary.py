"""The agent's op vocabulary is the same in the PowerShell agent, its simulated twin and the module documentation."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from winsim.agent import OPS, WRITE_OPS

ROOT = Path(__file__).resolve().parents[3]
AGENT = (ROOT / "plugins" / "module_utils" / "AgentOps.psm1").read_text(encoding="utf-8")


def powershell_handlers() -> set[str]:
    table = re.search(r"^\$Handlers = @\{\n(.*?)^\}", AGENT, re.MULTILINE | re.DOTALL)
    assert table, "AgentOps.psm1 has no $Handlers table"
    return set(re.findall(r"^\s+(\w+) = \$\{function:Invoke-\w+\}$", table.group(1), re.MULTILINE))


def documented_ops() -> set[str]:
    """Op names in the documentation's vocabulary entries: the C(...) names outside the parenthesised argument lists."""
    namespace: dict = {}
    exec(compile((ROOT / "plugins" / "modules" / "win_agent.py").read_text(encoding="utf-8"), "win_agent.py", "exec"), namespace)  # noqa: S102
    entries = yaml.safe_load(namespace["DOCUMENTATION"])["description"]
    first = next(index for index, entry in enumerate(entries) if entry.startswith("Op vocabulary"))
    last = next(index for index, entry in enumerate(entries) if entry.startswith("Registry value types"))
    text = re.sub(r"C\((\w+)\)", r"[[\1]]", " ".join(entries[first:last]))
    text = re.sub(r"\([^()]*\)", "", text)
    return set(re.findall(r"\[\[(\w+)\]\]", text))


def test_agent_simulator_and_documentation_know_the_same_ops() -> None:
    assert powershell_handlers() == set(OPS)
    assert documented_ops() == set(OPS)


def test_write_ops_are_the_same_in_agent_and_simulator() -> None:
    listed = re.search(r"^\$WriteOps = @\((.*)\)$", AGENT, re.MULTILINE)
    assert listed and set(re.findall(r"'(\w+)'", listed.group(1))) == set(WRITE_OPS)


def test_the_extended_ops_are_the_same_for_agent_simulator_and_controller() -> None:
    from ansible_collections.m365ops.activation.plugins.plugin_utils.agent import EXTENDED_OPS as CONTROLLER
    from winsim.agent import EXTENDED_OPS as SIMULATOR
    listed = re.search(r"^\$ExtendedOps = @\((.*)\)$", AGENT, re.MULTILINE)
    assert listed and set(re.findall(r"'(\w+)'", listed.group(1))) == set(SIMULATOR) == set(CONTROLLER)

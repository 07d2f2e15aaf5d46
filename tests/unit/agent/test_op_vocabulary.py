"""The agent's op manifest (plugins/plugin_utils/engine/agent_ops.py) is the one list of ops and error classes: the PowerShell
agent, its simulated twin, the controller, the module documentation and docs/design.md all say the same."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine import agent_ops
from winsim.agent import EXTENDED_OPS as SIMULATOR_EXTENDED, OPS as SIMULATOR_OPS, WRITE_OPS as SIMULATOR_WRITES

ROOT = Path(__file__).resolve().parents[3]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
AGENT = (MODULE_UTILS / "AgentOps.psm1").read_text(encoding="utf-8")
POWERSHELL = "\n".join(path.read_text(encoding="utf-8") for path in sorted(MODULE_UTILS.glob("*.psm1")))
MANIFEST = set(agent_ops.OPS)


def powershell_handlers() -> set[str]:
    table = re.search(r"^\$Handlers = @\{\n(.*?)^\}", AGENT, re.MULTILINE | re.DOTALL)
    assert table, "AgentOps.psm1 has no $Handlers table"
    return set(re.findall(r"^\s+(\w+) = \$\{function:Invoke-\w+\}$", table.group(1), re.MULTILINE))


def powershell_list(name: str) -> set[str]:
    listed = re.search(rf"^\${name} = @\((.*)\)$", AGENT, re.MULTILINE)
    assert listed, f"AgentOps.psm1 has no ${name}"
    return set(re.findall(r"'(\w+)'", listed.group(1)))


def documentation() -> list[str]:
    namespace: dict = {}
    exec(compile((ROOT / "plugins" / "modules" / "win_agent.py").read_text(encoding="utf-8"), "win_agent.py", "exec"), namespace)  # noqa: S102
    return [yaml.safe_load(namespace["DOCUMENTATION"])["description"], yaml.safe_load(namespace["RETURN"])]


def documented_ops() -> set[str]:
    """Op names in the documentation's vocabulary entries: the C(...) names outside the parenthesised argument lists."""
    entries = documentation()[0]
    first = next(index for index, entry in enumerate(entries) if entry.startswith("Op vocabulary"))
    last = next(index for index, entry in enumerate(entries) if entry.startswith("Registry value types"))
    text = re.sub(r"C\((\w+)\)", r"[[\1]]", " ".join(entries[first:last]))
    text = re.sub(r"\([^()]*\)", "", text)
    return set(re.findall(r"\[\[(\w+)\]\]", text))


def test_agent_simulator_and_documentation_know_the_manifests_ops() -> None:
    assert powershell_handlers() == MANIFEST
    assert set(SIMULATOR_OPS) == MANIFEST
    assert documented_ops() == MANIFEST


def test_the_design_documents_table_lists_every_op_of_the_manifest() -> None:
    table = [line for line in (ROOT / "docs" / "design.md").read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    named = {name for line in table for name in re.findall(r"`(\w+)`", line.split("|")[1])}
    assert named == MANIFEST


def test_write_and_extended_ops_are_the_manifests_in_agent_simulator_and_controller() -> None:
    from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import EXTENDED_OPS as CONTROLLER_EXTENDED
    assert powershell_list("WriteOps") == set(SIMULATOR_WRITES) == agent_ops.WRITE_OPS
    assert powershell_list("ExtendedOps") == set(SIMULATOR_EXTENDED) == set(CONTROLLER_EXTENDED) == agent_ops.EXTENDED_OPS
    assert {family for family, _writes, _extended in agent_ops.OPS.values()} == {
        agent_ops.REGISTRY, agent_ops.SERVICES, agent_ops.NETWORK, agent_ops.SYSTEM, agent_ops.USERS}


def test_every_error_class_raised_anywhere_is_in_the_manifest_and_documented() -> None:
    # New-AgentError's classes, those chosen in a variable first, and op answers written out (ok = $false; ...; error = ...).
    raised = set(re.findall(r"-Class '(\w+)'", POWERSHELL)) | set(re.findall(r"\$class = '(\w+)'", POWERSHELL))
    raised |= set(re.findall(r"ok = \$false; op = [^;]+; error = '(\w+)'", POWERSHELL))
    simulated = set(re.findall(r'OpError\("(\w+)"', (ROOT / "winsim" / "agent.py").read_text(encoding="utf-8")))
    assert raised - set(agent_ops.ERROR_CLASSES) == set()
    assert simulated - set(agent_ops.ERROR_CLASSES) == set()
    results = documentation()[1]["results"]["description"]
    assert set(re.findall(r"C\((\w+)\)", " ".join(results).split("one of the error classes", 1)[1])) == set(agent_ops.ERROR_CLASSES)
    assert all(advice.strip() for advice in agent_ops.ERROR_CLASSES.values())

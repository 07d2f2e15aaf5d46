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
DISPATCH = (MODULE_UTILS / "AgentDispatch.psm1").read_text(encoding="utf-8")
POWERSHELL = "\n".join(path.read_text(encoding="utf-8") for path in sorted(MODULE_UTILS.glob("*.psm1")))
MANIFEST = set(agent_ops.OPS)
# The module of each op family; the extended ones ship with win_agent_extended only.
FAMILY_MODULES = {agent_ops.REGISTRY: "Registry", agent_ops.SERVICES: "Services", agent_ops.NETWORK: "Network", agent_ops.SYSTEM: "System",
                  agent_ops.USERS: "Users"}
EXTENDED_MODULES = {"Network": "NetProbes", "Users": "UserTasks"}


def family_tables() -> dict[str, set[str]]:
    """Per family module, the ops its Get-Agent<Family>Ops table hands to the dispatcher."""
    tables = {}
    for path in sorted(MODULE_UTILS.glob("Agent*.psm1")):
        family = path.stem[len("Agent"):]
        table = re.search(rf"^Function Get-Agent{family}Ops \{{\n.*?return @\{{\n(.*?)^    \}}", path.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
        if table:
            tables[family] = set(re.findall(r"^\s+(\w+) = \$\{function:Invoke-[\w-]+\}$", table.group(1), re.MULTILINE))
    return tables


def powershell_handlers() -> set[str]:
    return {op for ops in family_tables().values() for op in ops}


def powershell_list(name: str) -> set[str]:
    listed = re.search(rf"^\${name} = @\((.*)\)$", DISPATCH, re.MULTILINE)
    assert listed, f"AgentDispatch.psm1 has no ${name}"
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
    shipped_extended = {op for family in EXTENDED_MODULES.values() for op in family_tables()[family]}
    assert shipped_extended == set(SIMULATOR_EXTENDED) == set(CONTROLLER_EXTENDED) == agent_ops.EXTENDED_OPS
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


def test_each_op_lives_in_its_familys_module_and_each_entry_point_ships_the_families_it_needs() -> None:
    tables = family_tables()
    for op, (family, _writes, extended) in agent_ops.OPS.items():
        module = FAMILY_MODULES[family]
        expected = EXTENDED_MODULES[module] if extended else module
        assert op in tables[expected], f"{op} belongs in Agent{expected}.psm1"
    assert sum(len(ops) for ops in tables.values()) == len(agent_ops.OPS), "an op is handed over by two families"
    everyday = {*FAMILY_MODULES.values()}
    for entry, families in (("win_agent", everyday), ("win_agent_extended", everyday | set(EXTENDED_MODULES.values()))):
        text = (ROOT / "plugins" / "modules" / f"{entry}.ps1").read_text(encoding="utf-8")
        required = set(re.findall(r"^#AnsibleRequires -PowerShell \.\.module_utils\.Agent(\w+)$", text, re.MULTILINE))
        handed = set(re.findall(r"\(Get-Agent(\w+)Ops\)", text))
        assert required == families | {"Dispatch"} and handed == families, entry


def test_each_agent_module_has_comment_based_help_and_requires_what_it_calls() -> None:
    defined = {}
    texts = {path.stem: path.read_text(encoding="utf-8") for path in sorted(MODULE_UTILS.glob("Agent*.psm1"))}
    for stem, text in texts.items():
        assert re.search(r"^<#\n\.SYNOPSIS\n.+\n\n\.DESCRIPTION\n", text, re.MULTILINE), f"{stem}.psm1 has no comment-based help"
        for name in re.findall(r"^Function ([\w-]+) \{", text, re.MULTILINE):
            defined[name] = stem
    for stem, text in texts.items():
        exported = set(re.findall(r"'([\w-]+)'", re.search(r"^Export-ModuleMember -Function @\((.*)\)$", text, re.MULTILINE).group(1)))
        required = set(re.findall(r"^#AnsibleRequires -PowerShell \.\.module_utils\.(\w+)$", text, re.MULTILINE))
        for name, owner in defined.items():
            if owner != stem and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.sub(r"(?m)^\s*#.*$", "", text)):
                assert owner in required, f"{stem}.psm1 calls {name} of {owner}.psm1 without requiring it"
                assert name in set(re.findall(r"'([\w-]+)'", re.search(r"^Export-ModuleMember -Function @\((.*)\)$", texts[owner], re.MULTILINE).group(1))), \
                    f"{owner}.psm1 does not export {name}, which {stem}.psm1 calls"
        assert exported, f"{stem}.psm1 exports nothing"

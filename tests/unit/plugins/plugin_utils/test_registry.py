from __future__ import annotations

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import AgentOpError, OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import render_diff
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    KeyRemoval, RegistryKey, RegistryRef, RegistryValue, ValueChange, dword_of, read_ops, snapshot,
)

KEY = RegistryKey(r"HKLM\SOFTWARE\Example")
KEY32 = RegistryKey(r"HKLM\SOFTWARE\Example", "32")


@pytest.mark.parametrize(("value", "text"), [
    (RegistryValue("dword", 0xA80), "dword:00000a80"),
    (RegistryValue("qword", 1), "hex(b):0000000000000001"),
    (RegistryValue("string", 'say "hi"'), '"say \\"hi\\""'),
    (RegistryValue("expand_string", "%SystemRoot%"), 'expand:"%SystemRoot%"'),
    (RegistryValue("multi_string", ["a", "b"]), 'multi:"a","b"'),
])
def test_render_uses_reg_notation(value: RegistryValue, text: str) -> None:
    assert value.render() == text


def test_read_ops_group_names_per_key_and_view() -> None:
    refs = [RegistryRef(KEY, "A"), RegistryRef(KEY32, "A"), RegistryRef(KEY, "B"), RegistryRef(KEY, "A")]
    keys, ops = read_ops(refs)
    assert keys == [KEY32, KEY]
    assert ops == [
        {"op": "registry_read", "key": KEY.path, "view": "32", "names": ["A"]},
        {"op": "registry_read", "key": KEY.path, "view": "64", "names": ["A", "B"]},
    ]


def test_snapshot_maps_values_and_key_existence() -> None:
    refs = [RegistryRef(KEY, "A"), RegistryRef(KEY32, "A")]
    keys, _ops = read_ops(refs)
    results = [OpResult("registry_read", True, {"exists": False, "values": {}}),
               OpResult("registry_read", True, {"exists": True, "values": {"A": {"type": "dword", "value": 3}}})]
    taken = snapshot(refs, keys, results)
    assert taken.get(RegistryRef(KEY, "A")) == RegistryValue("dword", 3)
    assert taken.get(RegistryRef(KEY32, "A")) is None
    assert taken.key_exists(KEY) and not taken.key_exists(KEY32)
    with pytest.raises(KeyError, match="not probed"):
        taken.get(RegistryRef(KEY, "Other"))


def test_snapshot_raises_on_a_failed_read() -> None:
    refs = [RegistryRef(KEY, "A")]
    keys, _ops = read_ops(refs)
    with pytest.raises(AgentOpError, match="access_denied"):
        snapshot(refs, keys, [OpResult("registry_read", False, error="access_denied", message="access is denied")])


def test_change_ops_write_or_delete() -> None:
    write = ValueChange(RegistryRef(KEY32, "A"), None, RegistryValue.dword(1), "why")
    delete = ValueChange(RegistryRef(KEY, "A"), RegistryValue.dword(1), None, "why")
    assert write.to_op() == {"op": "registry_write", "key": KEY.path, "view": "32", "name": "A", "type": "dword", "value": 1}
    assert delete.to_op() == {"op": "registry_delete_value", "key": KEY.path, "view": "64", "name": "A"}


def test_diff_groups_by_key_and_shows_absent_values() -> None:
    diff = render_diff([
        ValueChange(RegistryRef(KEY, "B"), None, RegistryValue.dword(1), "why"),
        ValueChange(RegistryRef(KEY, "A"), RegistryValue.dword(0), None, "why"),
    ])
    assert diff["before"] == f'[{KEY.path}]\n"A"=dword:00000000\n"B"=(absent)\n'
    assert diff["after"] == f'[{KEY.path}]\n"A"=(absent)\n"B"=dword:00000001\n'


def test_key_removal_op_is_guarded_and_shown_in_the_diff() -> None:
    removal = KeyRemoval(KEY, "created by a recorded change")
    assert removal.to_op() == {"op": "registry_delete_key", "key": KEY.path, "view": "64", "only_if_no_values": True}
    diff = render_diff([removal, ValueChange(RegistryRef(KEY, "A"), RegistryValue.dword(0), None, "why")])
    assert diff["after"].splitlines() == [f"[{KEY.path}]", '"A"=(absent)', f"[-{KEY.path}]"]


def test_dword_of_reads_only_dwords() -> None:
    assert dword_of(RegistryValue.dword(0)) == 0
    assert dword_of(RegistryValue("string", "1")) is None
    assert dword_of(None) is None

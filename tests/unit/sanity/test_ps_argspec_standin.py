"""The pwsh stand-in reads literal argument specs and refuses anything it cannot read exactly."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sanity.ps_argspec_standin import NotALiteral, find_spec, main

ROOT = Path(__file__).resolve().parents[3]


def test_reads_the_agent_spec() -> None:
    assert find_spec((ROOT / "plugins" / "modules" / "win_agent.ps1").read_bytes()) == {
        "options": {"ops": {"type": "list", "elements": "dict", "required": True}, "strict": {"type": "bool", "default": True}},
        "supports_check_mode": True}


def test_literal_forms() -> None:
    source = b"""
$other = 1
$spec = @{
    options = @{
        mode = @{ type = "str"; choices = @('on', 'off'); default = 'on' }
        count = @{ type = 'int'; default = 0x10 }
        names = @{ type = 'list'; elements = 'str'; default = @() }
        one = @{ type = 'list'; default = @('x') }
        quoted = @{ type = 'str'; default = 'it''s' }
        nothing = @{ type = 'str'; default = $null; no_log = $false }
    }
    mutually_exclusive = @(, @('mode', 'count'))
}
"""
    spec = find_spec(source)
    options = spec["options"]
    assert options["mode"] == {"type": "str", "choices": ["on", "off"], "default": "on"}
    assert options["count"]["default"] == 16
    assert options["names"]["default"] == [] and options["one"]["default"] == ["x"]
    assert options["quoted"]["default"] == "it's"
    assert options["nothing"] == {"type": "str", "default": None, "no_log": False}


@pytest.mark.parametrize("source", [
    b"$spec = @{ options = @{ a = @{ type = $kind } } }",
    b'$spec = @{ options = @{ a = @{ default = "$env:TEMP" } } }',
    b"$spec = Get-Spec",
    b"$notspec = @{}",
])
def test_refuses_what_is_not_a_literal(source: bytes) -> None:
    with pytest.raises(NotALiteral):
        find_spec(source)


def test_answers_only_ps_argspec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "m.ps1"
    module.write_bytes(b"$spec = @{ options = @{} }")
    assert main(["/x/ps_argspec.ps1", json.dumps({"module_path": str(module)})]) == 0
    assert json.loads(capsys.readouterr().out) == {"options": {}}
    assert main(["-Command", "Get-Process"]) == 1

"""Native programs the agent calls directly are judged by exit code, never stopped by their stderr (review F10).

Ansible runs modules with $ErrorActionPreference = 'Stop' in a hosted runspace, where Windows PowerShell 5.1 turns a
native program's stderr into a terminating NativeCommandError before $LASTEXITCODE can be read.
"""
from __future__ import annotations

import re
from pathlib import Path

# The agent's modules, the dispatcher and every op family, as one text.
AGENT = "\n".join(path.read_text(encoding="utf-8") for path in sorted((Path(__file__).resolve().parents[3] / "plugins" / "module_utils").glob("Agent*.psm1")))
NATIVE_CALL = re.compile(r'^\s*(?:\$\w+\s*=\s*)?&\s*"[^"]+\.exe"(?P<rest>.*)$', re.MULTILINE)


def functions() -> dict[str, str]:
    """Each function's body, by name (the agent's functions start at column 0 and end with a lone '}')."""
    return {match.group(1): match.group(2) for match in re.finditer(r"^Function ([\w-]+) \{\n(.*?)^\}", AGENT, re.MULTILINE | re.DOTALL)}


def test_every_native_call_discards_stderr_under_a_local_continue() -> None:
    calls = [(name, match) for name, body in functions().items() for match in NATIVE_CALL.finditer(body)]
    assert calls, "the agent calls sc.exe directly; this test must see it"
    for name, match in calls:
        body = functions()[name]
        assert "2>$null" in match.group("rest"), f"{name}: stderr of {match.group(0).strip()} is not redirected"
        before = body[:match.start()]
        assert "$ErrorActionPreference = 'Continue'" in before, f"{name}: no local 'Continue' before {match.group(0).strip()}"
        assert "$LASTEXITCODE" in body[match.end():], f"{name}: the exit code of {match.group(0).strip()} is not looked at"

"""process_run quotes each argument so that Windows' CommandLineToArgvW reads back exactly that argument.

The two substitutions are read out of the agent (module_utils/AgentServices.psm1) itself and applied here; the parser below follows the documented
rules (2n backslashes before a quote are n backslashes and the quote ends or starts quoting; 2n+1 are n and a literal
quote; other backslashes are literal), so a change to the agent's quoting that breaks a round trip fails this test.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

# The agent's modules, the dispatcher and every op family, as one text.
AGENT = "\n".join(path.read_text(encoding="utf-8") for path in sorted((Path(__file__).resolve().parents[3] / "plugins" / "module_utils").glob("Agent*.psm1")))


def agent_quote(argument: str) -> str:
    body = AGENT[AGENT.index("Function ConvertTo-CommandLineArgument"):]
    body = body[:body.index("\n}\n")]
    # Left as it is where nothing in it needs quoting: not empty, no white space, no quote (the agent's own test).
    assert "if ($Argument.Length -gt 0 -and $Argument -notmatch '[\\s\"]') {" in body
    if argument and not re.search(r'[\s"]', argument):
        return argument
    for pattern, replacement in re.findall(r"\[regex\]::Replace\(\$\w+, '([^']*)', '([^']*)'\)", body):
        argument = re.sub(pattern, lambda match, repl=replacement: re.sub(r"\$(\d)", lambda group: match.group(int(group.group(1))), repl),
                          argument)
    return '"' + argument + '"'


def command_line_to_argv(line: str) -> list[str]:
    arguments, current, quoted, index, started = [], "", False, 0, False
    while index < len(line):
        char = line[index]
        if char == "\\":
            run = len(line[index:]) - len(line[index:].lstrip("\\"))
            if index + run < len(line) and line[index + run] == '"':
                current += "\\" * (run // 2)
                if run % 2:
                    current += '"'
                    index += run + 1
                else:
                    index += run
                started = True
                continue
            current += "\\" * run
            index += run
            started = True
            continue
        if char == '"':
            quoted = not quoted
            started = True
        elif char == " " and not quoted:
            if started:
                arguments.append(current)
            current, started = "", False
        else:
            current += char
            started = True
        index += 1
    if started:
        arguments.append(current)
    return arguments


@pytest.mark.parametrize("argument", [
    "winsock", r"C:\Program Files\Vendor\\", r"C:\path with spaces\\", 'say "hi"', 'ends with \\"', "",
    "proxy-server=http=p:80;https=p:443", "bypass-list=<local>;*.corp.example", "\\\\server\\share\\", 'a\\\\"b',
])
def test_every_argument_comes_back_as_it_was(argument: str) -> None:
    assert command_line_to_argv(" ".join(["netsh.exe", agent_quote(argument), agent_quote("next")])) == ["netsh.exe", argument, "next"]


@pytest.mark.parametrize(("argument", "written"), [
    ("/update", "/update"), ("updatepromptuser=false", "updatepromptuser=false"), ("C:\\Program Files\\x", '"C:\\Program Files\\x"'),
    ("", '""'), ('a"b', '"a\\"b"'),
])
def test_an_argument_is_quoted_only_where_it_has_to_be(argument: str, written: str) -> None:
    """Review G16: OfficeC2RClient.exe parses its own command line; Microsoft documents its arguments unquoted."""
    assert agent_quote(argument) == written

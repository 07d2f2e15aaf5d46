"""Stand-in for ``pwsh ps_argspec.ps1 <manifest>``, the one PowerShell call of ansible-test validate-modules.

validate-modules reads a PowerShell module's argument spec by running the module under pwsh with a
patched Ansible.Basic. These machines have no PowerShell, so this reads the spec statically instead:
it parses the module with tree-sitter-powershell, finds the ``$spec = @{...}`` assignment and converts
that literal (hashtables, arrays, quoted strings without interpolation, integers, $true/$false/$null)
to the JSON ps_argspec.ps1 would print. Anything that is not such a literal is refused with exit 1, so a
module whose spec is built at run time fails validate-modules here rather than passing unchecked.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import tree_sitter
import tree_sitter_powershell

WRAPPERS = {
    "pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
    "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
    "unary_expression", "statement_list", "hash_literal_body",
}


class NotALiteral(Exception):
    pass


def _text(source: bytes, node: tree_sitter.Node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8")


def _named(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [child for child in node.children if child.is_named]


def convert(source: bytes, node: tree_sitter.Node) -> Any:
    kind = node.type
    if kind in WRAPPERS:
        children = _named(node)
        if len(children) != 1:
            raise NotALiteral(f"{kind} with {len(children)} parts at line {node.start_point[0] + 1}")
        return convert(source, children[0])
    if kind == "array_literal_expression":
        items = [convert(source, child) for child in _named(node)]
        return items[0] if len(items) == 1 and not any(child.type == "," for child in node.children) else items
    if kind == "array_expression":
        body = _named(node)
        return [] if not body else _as_list(convert(source, body[0]), body[0])
    if kind == "hash_literal_expression":
        result: dict[str, Any] = {}
        for body in _named(node):
            for entry in _named(body):
                key_node, value_node = _named(entry)
                result[_text(source, key_node).strip("'\"")] = convert(source, value_node)
        return result
    if kind == "string_literal":
        text = _text(source, node)
        if text.startswith("'") and text.endswith("'"):
            return text[1:-1].replace("''", "'")
        if text.startswith('"') and text.endswith('"') and "$" not in text and "`" not in text:
            return text[1:-1]
        raise NotALiteral(f"string with interpolation at line {node.start_point[0] + 1}")
    if kind == "expression_with_unary_operator" and node.children[0].type == ",":
        return [convert(source, _named(node)[-1])]
    if kind == "integer_literal":
        return int(_text(source, node), 0)
    if kind == "variable":
        constants = {"$true": True, "$false": False, "$null": None}
        name = _text(source, node).lower()
        if name in constants:
            return constants[name]
    raise NotALiteral(f"{kind} '{_text(source, node)[:40]}' at line {node.start_point[0] + 1}")


def _as_list(value: Any, node: tree_sitter.Node) -> list[Any]:
    return value if isinstance(value, list) and _descends_to_comma_list(node) else [value]


def _descends_to_comma_list(node: tree_sitter.Node) -> bool:
    while node.type in WRAPPERS and len(_named(node)) == 1:
        node = _named(node)[0]
    return node.type == "array_literal_expression" and any(child.type == "," for child in node.children)


def find_spec(source: bytes) -> dict[str, Any]:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    stack = [parser.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "assignment_expression":
            target, *rest = _named(node)
            if _text(source, target).strip().lower() == "$spec":
                value = convert(source, rest[-1])
                if not isinstance(value, dict):
                    raise NotALiteral("$spec is not a hashtable")
                return value
        stack.extend(reversed(node.children))
    raise NotALiteral("no '$spec = @{...}' assignment")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0].endswith("ps_argspec.ps1"):
        print("this pwsh stand-in only answers validate-modules' ps_argspec.ps1", file=sys.stderr)
        return 1
    manifest = json.loads(argv[1])
    try:
        spec = find_spec(Path(manifest["module_path"]).read_bytes())
    except NotALiteral as error:
        print(f"cannot read the argument spec statically: {error}", file=sys.stderr)
        return 1
    print(json.dumps(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

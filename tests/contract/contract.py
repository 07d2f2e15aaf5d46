"""The agent contract: JSON cases (ops in, expected results out) and how to check an answer.

A case has ``ops`` and ``expect`` (one partial expectation per op), optional ``setup`` ops
run before it, ``check_mode``, ``after``/``expect_after`` ops run (not in check mode) after
it, ``variants`` (each a set of fields merged into the first op, giving one case per variant)
and ``requires`` (``x64``, or ``netadapter`` for Windows 8 / 2012 and later). In expectations a string like ``<int>``, ``<str|null>``, ``<list>`` or
``<any>`` matches by type; anything else must be equal. Messages are free text and are only
ever matched by type.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).resolve().parent / "cases"
_TYPES = {"str": str, "int": int, "list": list, "bool": bool, "dict": dict, "null": type(None)}


@dataclass(frozen=True)
class Case:
    name: str
    ops: list[dict[str, Any]]
    expect: list[dict[str, Any]]
    setup: list[dict[str, Any]] = field(default_factory=list)
    check_mode: bool = False
    after: list[dict[str, Any]] = field(default_factory=list)
    expect_after: list[dict[str, Any]] = field(default_factory=list)
    requires: str | None = None


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(directory.glob("*.json")):
        for raw in json.loads(path.read_text(encoding="utf-8")):
            variants = raw.pop("variants", None)
            if not variants:
                cases.append(Case(**raw))
                continue
            for variant in variants:
                case = copy.deepcopy(raw)
                case["ops"][0].update(variant)
                case["name"] = f"{raw['name']} {json.dumps(variant)}"
                cases.append(Case(**case))
    return cases


def _type_matches(marker: str, actual: Any) -> bool:
    names = marker[1:-1].split("|")
    if "any" in names:
        return True
    if isinstance(actual, bool):
        return "bool" in names
    return any(isinstance(actual, _TYPES[name]) for name in names)


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every way ``actual`` departs from the partial ``expected``; empty when it matches."""
    if isinstance(expected, str) and expected.startswith("<") and expected.endswith(">") and \
            all(name in _TYPES or name == "any" for name in expected[1:-1].split("|")):
        return [] if _type_matches(expected, actual) else [f"{path or '.'}: expected {expected}, got {actual!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: expected a mapping, got {actual!r}"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{path}.{key}: missing")
            else:
                found.extend(mismatches(value, actual[key], f"{path}.{key}"))
        if path.count(".") <= 1 and "values" in expected and isinstance(actual.get("values"), dict):
            extra = set(actual["values"]) - set(expected["values"])
            found.extend(f"{path}.values.{name}: not expected" for name in sorted(extra))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path or '.'}: expected {len(expected)} items, got {actual!r}"]
        return [problem for index, (want, got) in enumerate(zip(expected, actual))
                for problem in mismatches(want, got, f"{path}[{index}]")]
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{path or '.'}: expected {expected!r}, got {actual!r}"]
    return [] if expected == actual else [f"{path or '.'}: expected {expected!r}, got {actual!r}"]


def batches(cases: list[Case]) -> list[dict[str, Any]]:
    """The agent runs a contract run needs, in order: a probe, then setup/ops/after per case."""
    runs: list[dict[str, Any]] = [{"case": "(probe)", "phase": "probe", "ops": [{"op": "system_info"}], "check_mode": False}]
    for case in cases:
        if case.setup:
            runs.append({"case": case.name, "phase": "setup", "ops": case.setup, "check_mode": False})
        runs.append({"case": case.name, "phase": "ops", "ops": case.ops, "check_mode": case.check_mode})
        if case.after:
            runs.append({"case": case.name, "phase": "after", "ops": case.after, "check_mode": False})
    return runs


@dataclass
class Verdict:
    case: str
    problems: list[str]
    skipped: bool = False


def judge(cases: list[Case], answers: list[dict[str, Any]]) -> list[Verdict]:
    """Compare the answers of a run of ``batches(cases)`` with each case's expectations."""
    runs = batches(cases)
    if len(answers) != len(runs):
        raise ValueError(f"expected {len(runs)} agent answers, got {len(answers)}")
    by_phase = {(run["case"], run["phase"]): answer for run, answer in zip(runs, answers)}
    probe = by_phase[("(probe)", "probe")].get("results", [{}])[0]
    host_os = probe.get("os") or {}
    unmet = {"x64": str(host_os.get("architecture", "AMD64")).upper() == "X86",
             # The NetAdapter module arrived with Windows 8 / Server 2012 (6.2).
             "netadapter": (host_os.get("major", 10), host_os.get("minor", 0)) < (6, 2)}
    verdicts = []
    for case in cases:
        if case.requires and unmet.get(case.requires, False):
            verdicts.append(Verdict(case.name, [], skipped=True))
            continue
        problems: list[str] = []
        for phase, expected in (("setup", None), ("ops", case.expect), ("after", case.expect_after)):
            answer = by_phase.get((case.name, phase))
            if answer is None:
                continue
            if answer.get("failed") or "results" not in answer:
                problems.append(f"{phase}: the agent failed: {answer.get('msg')}")
                continue
            if answer.get("protocol") != 1:
                problems.append(f"{phase}: protocol {answer.get('protocol')!r}")
            if expected is None:
                problems.extend(f"setup op {index} failed: {result}" for index, result in enumerate(answer["results"]) if not result.get("ok"))
            else:
                problems.extend(f"{phase}{problem}" for problem in mismatches(expected, answer["results"]))
        verdicts.append(Verdict(case.name, problems))
    return verdicts

"""The report's JSON Schema (docs/schemas), for the tests that hold reports to it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "docs" / "schemas" / "compliance-report-1.schema.json").read_text(encoding="utf-8"))


def validate_report(report: Any) -> None:
    """Raise jsonschema.ValidationError when ``report`` is not a layout-1 compliance report."""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(json.dumps(report)))

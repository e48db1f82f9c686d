"""Validating SARIF against the official OASIS SARIF 2.1.0 schema vendored in tests/fixtures/sarif/
(a module of its own so CLI, render and gate tests share it)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft4Validator

from fixture_paths import FIXTURES

SCHEMA_PATH = FIXTURES / "sarif" / "sarif-schema-2.1.0.json"


@cache
def _validator() -> Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def validate_sarif(log: dict[str, Any] | str) -> dict[str, Any]:
    """Raise AssertionError listing every schema violation of `log` (a dict or JSON text); return it."""
    doc = json.loads(log) if isinstance(log, str) else log
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "SARIF does not validate:\n" + "\n".join(
        f"  {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]
    )
    return doc

"""Correctness: a task's success criteria and test cases, and how an output is checked against them.

A check is ``exact``, ``contains``, ``regex``, ``json_schema``, ``numeric`` (within a tolerance) or
``judge`` (free text, decided by the task's judge agent). Success criteria apply to the run's final
output; a test case applies to the run's output for that case (``case_outputs[id]``), or to the
final output when the run gives none for it. Some test cases are private: never shown, and scored
only on the private split. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import Field, model_validator

from ..wire import Inbound
from .runrecord import output_text

CheckKind = Literal["exact", "contains", "regex", "json_schema", "numeric", "judge"]
CheckId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
MAX_OUTPUT_CHARS = 100_000  # what a check reads of an output
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


class Check(Inbound):
    """One thing a correct output does."""

    id: CheckId
    check: CheckKind
    expected: Any = Field(None, description="exact, contains: text (contains: or a list of texts); numeric: a number")
    pattern: str | None = Field(None, max_length=2000, description="regex: searched in the output")
    json_schema: dict[str, Any] | None = Field(None, description="json_schema: the output (as JSON) must validate")
    tolerance: float = Field(0.0, ge=0, le=1e12, description="numeric: the largest absolute difference")
    relative: bool = Field(False, description="numeric: tolerance is a fraction of expected")
    case_sensitive: bool = True
    rubric: str | None = Field(None, max_length=4000, description="judge: what the judge decides")
    weight: float = Field(1.0, gt=0, le=100)

    @model_validator(mode="after")
    def _complete(self) -> Check:
        k = self.check
        if k in ("exact", "contains"):
            texts = self.expected if isinstance(self.expected, list) and k == "contains" else [self.expected]
            if not texts or not all(isinstance(t, str) and t for t in texts):
                more = " (or a list of texts)" if k == "contains" else ""
                raise ValueError(f"a {k} check needs expected text{more}")
        elif k == "regex":
            if not self.pattern:
                raise ValueError("a regex check needs a pattern")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"the pattern does not compile: {exc}") from None
        elif k == "json_schema":
            if self.json_schema is None:
                raise ValueError("a json_schema check needs json_schema")
            try:
                jsonschema.Draft202012Validator.check_schema(self.json_schema)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"json_schema is not a valid JSON Schema: {exc.message}") from None
        elif k == "numeric":
            if isinstance(self.expected, bool) or not isinstance(self.expected, int | float) \
                    or not math.isfinite(self.expected):
                raise ValueError("a numeric check needs an expected number")
        elif k == "judge" and not self.rubric:
            raise ValueError("a judge check needs a rubric")
        return self


class TestCase(Check):
    """A test case: a check with the case's input; private ones are never shown."""

    __test__ = False  # not a pytest class
    input: Any = None
    private: bool = False


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        found = _NUMBER.search(value.replace(",", ""))
        if found:
            try:
                return float(found.group())
            except ValueError:
                return None
    return None


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run(check: Check, output: Any) -> tuple[bool | None, str]:
    """(passed, what was found); None for a judge check, which this cannot decide."""
    text = output_text(output)[:MAX_OUTPUT_CHARS]
    k = check.check
    if output is None and k != "judge":
        return False, "no output"
    if k == "exact":
        a, b = text.strip(), str(check.expected).strip()
        if not check.case_sensitive:
            a, b = a.casefold(), b.casefold()
        return a == b, "equal" if a == b else "differs"
    if k == "contains":
        wanted = check.expected if isinstance(check.expected, list) else [check.expected]
        hay = text if check.case_sensitive else text.casefold()
        missing = [w for w in wanted if (w if check.case_sensitive else w.casefold()) not in hay]
        return not missing, "all found" if not missing else f"missing {missing[:3]}"
    if k == "regex":
        flags = 0 if check.case_sensitive else re.IGNORECASE
        hit = re.search(check.pattern or "", text, flags) is not None
        return hit, "matches" if hit else "no match"
    if k == "json_schema":
        errors = sorted(jsonschema.Draft202012Validator(check.json_schema or {}).iter_errors(_as_json(output)),
                        key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            return False, f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}"[:300]
        return True, "valid"
    if k == "numeric":
        got = _number(output)
        if got is None:
            return False, "no number in the output"
        expected = float(check.expected)
        allowed = check.tolerance * abs(expected) if check.relative else check.tolerance
        ok = abs(got - expected) <= allowed + 1e-12
        return ok, f"{got:g} vs {expected:g} (±{allowed:g})"
    return None, "for the judge"


def evaluate(criteria: list[Check], cases: list[TestCase], final_output: Any,
             case_outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per criterion and test case: id, kind, private, check, weight, passed (None:
    waiting for the judge), detail."""
    results = []
    for c in criteria:
        passed, detail = run(c, final_output)
        results.append({"id": c.id, "kind": "criterion", "private": False, "check": c.check, "weight": c.weight,
                        "passed": passed, "detail": detail})
    for case in cases:
        output = case_outputs.get(case.id, final_output)
        passed, detail = run(case, output)
        results.append({"id": case.id, "kind": "case", "private": case.private, "check": case.check,
                        "weight": case.weight, "passed": passed, "detail": detail})
    return results

"""`levenshtein`, `wer` and `json_schema` on hand-checked examples, with their reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.graders import GradeContext, GraderSpecError, build_grader
from evals.graders.edit_distance import levenshtein, similarity, word_errors, words
from evals.records import GradeResult


def grade(spec: dict[str, Any], output: str, expect: Any = None) -> GradeResult:
    return build_grader(spec).grade(output, GradeContext(expect=expect, vars={}, case_id="c1"))


def spec_error(spec: dict[str, Any]) -> GraderSpecError:
    with pytest.raises(GraderSpecError) as info:
        build_grader(spec)
    return info.value


# --- levenshtein --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("", "abc", 3),
        ("abc", "", 3),
        ("", "", 0),
        ("same", "same", 0),
        ("abcdef", "azcdxf", 2),
        ("Straße", "Strasse", 2),
    ],
)
def test_levenshtein_distance(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance
    assert levenshtein(b, a) == distance


def test_similarity_is_normalised() -> None:
    assert similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert similarity("", "") == 1.0
    assert similarity("abc", "xyz") == 0.0


def test_levenshtein_pass_and_reason() -> None:
    result = grade({"type": "levenshtein"}, "Pariss", "Paris")
    assert result.passed and result.score == pytest.approx(5 / 6)
    assert result.reason == (
        "levenshtein: similarity 0.833 ≥ 0.8 (edit distance 1 over 6 characters) to 'Paris'"
    )


def test_levenshtein_fail_reason() -> None:
    result = grade({"type": "levenshtein"}, "kitten", "sitting")
    assert not result.passed and not result.error
    assert result.score == pytest.approx(4 / 7)
    assert result.reason == (
        "levenshtein: similarity 0.571 < 0.8 (edit distance 3 over 7 characters): "
        "expected 'sitting', got 'kitten'"
    )


def test_levenshtein_options() -> None:
    assert not grade({"type": "levenshtein", "threshold": 0.9}, "Pariss", "Paris").passed
    assert (
        grade(
            {"type": "levenshtein", "threshold": 1},
            "  PARIS ",
            "paris",
        ).passed
        is False
    )
    assert grade(
        {"type": "levenshtein", "threshold": 1, "ignore_case": True}, " PARIS ", "paris"
    ).passed
    untrimmed = grade({"type": "levenshtein", "trim": False, "threshold": 1}, "paris ", "paris")
    assert not untrimmed.passed and untrimmed.score == pytest.approx(5 / 6)
    assert spec_error({"type": "levenshtein", "threshold": 1.5}).key == "threshold"


def test_levenshtein_list_takes_the_closest() -> None:
    result = grade({"type": "levenshtein"}, "colour", ["color", "colour"])
    assert result.passed and result.score == 1.0


def test_levenshtein_needs_expectation() -> None:
    assert grade({"type": "levenshtein"}, "x").error
    assert grade({"type": "levenshtein"}, "x", {"a": 1}).error


def test_negated_levenshtein_inverts_score() -> None:
    result = grade({"type": "not-levenshtein"}, "kitten", "sitting")
    assert result.passed and result.score == pytest.approx(3 / 7)


# --- wer ----------------------------------------------------------------------------------

REFERENCE = "The quick brown fox jumps over the lazy dog near the river."


def test_wer_example_from_the_reason_format() -> None:
    hypothesis = "the quick brown box jumps over the hazy dog near the river bank"
    result = grade({"type": "wer"}, hypothesis, REFERENCE)
    assert not result.passed and not result.error
    assert result.score == pytest.approx(0.75)
    assert result.reason == (
        "wer: WER 0.25 (2 substitutions, 0 deletions, 1 insertion over 12 words) > 0.2"
    )


def test_wer_pass() -> None:
    result = grade({"type": "wer"}, "the cat sat on mat", "The cat sat on the mat.")
    assert result.passed and result.score == pytest.approx(5 / 6)
    assert result.reason == (
        "wer: WER 0.167 (0 substitutions, 1 deletion, 0 insertions over 6 words) ≤ 0.2"
    )


def test_word_errors_counts() -> None:
    errors = word_errors(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"])
    assert (errors.substitutions, errors.deletions, errors.insertions) == (1, 0, 1)
    assert errors.rate == 0.5
    assert word_errors([], []).rate == 0.0
    assert word_errors([], ["x"]).insertions == 1
    assert word_errors(["a", "b"], []).deletions == 2


def test_wer_normalisation() -> None:
    assert words("Hello,  World! It's   fine.", normalize=True, numbers_as_words=False) == [
        "hello", "world", "its", "fine",
    ]  # fmt: skip
    assert grade({"type": "wer", "max_wer": 0}, "the CAT, sat", "The cat sat.").passed
    raw = grade({"type": "wer", "normalize": False, "max_wer": 0}, "the cat, sat", "The cat sat.")
    assert raw.reason == (
        "wer: WER 1 (3 substitutions, 0 deletions, 0 insertions over 3 words) > 0"
    )


def test_wer_numbers_as_words() -> None:
    spec = {"type": "wer", "max_wer": 0}
    result = grade(spec, "I have three cats", "I have 3 cats")
    assert result.reason == (
        "wer: WER 0.25 (1 substitution, 0 deletions, 0 insertions over 4 words) > 0"
    )
    assert grade({**spec, "numbers_as_words": True}, "I have three cats", "I have 3 cats").passed
    assert grade({**spec, "numbers_as_words": True}, "ten 0", "10 zero").passed


def test_wer_score_floors_at_zero() -> None:
    result = grade({"type": "wer"}, "a b c d e f", "x")
    assert not result.passed and result.score == 0.0
    assert "WER 6 (1 substitution, 0 deletions, 5 insertions over 1 word)" in result.reason


def test_wer_errors() -> None:
    assert grade({"type": "wer"}, "text").error
    assert spec_error({"type": "wer", "max_wer": -0.1}).key == "max_wer"


# --- json_schema --------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "required": ["city", "temp_c"],
    "properties": {"city": {"type": "string"}, "temp_c": {"type": "number"}},
    "additionalProperties": False,
}


def test_json_schema_inline() -> None:
    spec = {"type": "json_schema", "schema": SCHEMA}
    result = grade(spec, '```json\n{"city": "Paris", "temp_c": 21}\n```')
    assert result == GradeResult(
        True, 1.0, "json_schema: output is valid JSON and matches the schema"
    )
    result = grade(spec, '{"city": "Paris", "temp_c": "warm"}')
    assert result.reason == (
        "json_schema: JSON does not match the schema at $.temp_c: 'warm' is not of type 'number'"
    )
    assert grade(spec, "{city: Paris}").reason.startswith("json_schema: output is not valid JSON (")


def test_json_schema_file_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "weather.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "weather.yaml").write_text(
        "type: object\nrequired: [city]\nproperties: {city: {type: string}}\n"
    )
    spec = {"type": "json_schema", "schema_file": str(tmp_path / "weather.json")}
    assert grade(spec, '{"city": "Paris", "temp_c": 21}').passed
    assert not grade(spec, '{"city": "Paris"}').passed
    spec = {"type": "json_schema", "schema_file": str(tmp_path / "weather.yaml")}
    assert grade(spec, '{"city": "Paris"}').passed
    assert not grade(spec, '{"town": "Paris"}').passed


def test_json_schema_file_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    monkeypatch.chdir(tmp_path)
    assert grade(
        {"type": "json_schema", "schema_file": "s.json"}, '{"city": "a", "temp_c": 1}'
    ).passed


def test_json_schema_spec_errors(tmp_path: Path) -> None:
    err = spec_error({"type": "json_schema"})
    assert "give exactly one of `schema` (inline) or `schema_file` (a path)" in str(err)
    both = {"type": "json_schema", "schema": SCHEMA, "schema_file": "x.json"}
    assert "exactly one" in str(spec_error(both))
    missing = spec_error({"type": "json_schema", "schema_file": str(tmp_path / "nope.json")})
    assert missing.key == "schema_file" and "cannot read `schema_file`" in str(missing)
    (tmp_path / "bad.json").write_text("{not json")
    bad = spec_error({"type": "json_schema", "schema_file": str(tmp_path / "bad.json")})
    assert bad.key == "schema_file" and "is not valid JSON/YAML" in str(bad)
    (tmp_path / "wrong.json").write_text('{"type": "nonsense"}')
    wrong = spec_error({"type": "json_schema", "schema_file": str(tmp_path / "wrong.json")})
    assert wrong.key == "schema_file" and "not a valid JSON Schema" in str(wrong)
    value = spec_error({"type": "json_schema", "schema": SCHEMA, "value": 1})
    assert value.key == "value"


def test_json_schema_honours_declared_draft() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}
    assert grade({"type": "json_schema", "schema": draft7}, '["a", 1]').passed
    assert not grade({"type": "json_schema", "schema": draft7}, "[1]").passed

"""promptfoo-compatible graders on hand-chosen outputs, verdicts as promptfoo's docs give them.

Docs used (one page, one section per type):
DOC = https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/
  equals        DOC#equality          icontains      DOC#contains
  contains-any  DOC#contains-any      icontains-any  DOC#contains-any
  contains-all  DOC#contains-all      icontains-all  DOC#contains-all
  starts-with   DOC#starts-with       word-count     DOC#word-count
  is-refusal    DOC#is-refusal        levenshtein    DOC#levenshtein-distance
  is-json       DOC#is-json           contains-json  DOC#contains-json
  is-xml        DOC#is-xml            contains-xml   DOC#contains-xml
  is-sql        DOC#is-sql            rouge-n        DOC#rouge-n
  bleu          DOC#bleu
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from evals.graders import KNOWN_TYPES, GradeContext, GraderSpecError, build_grader
from evals.graders.overlap import bleu_score
from evals.graders.promptfoo_text import count_words, refusal_phrase
from evals.graders.value_grader import split_commas
from evals.records import GradeResult

PROMPTFOO_TYPES = (
    "equals", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
    "starts-with", "word-count", "is-refusal", "is-json", "contains-json", "is-xml",
    "contains-xml", "is-sql", "rouge-n", "bleu",
)  # fmt: skip


# a valid `value` per type, for tests about options common to all of them
VALUES: dict[str, Any] = {
    "word-count": 2,
    "is-sql": {"databaseType": "MySQL"},
    "is-json": {"type": "object"},
    "contains-json": {"type": "object"},
}


def grade(spec: dict[str, Any], output: str, expect: Any = None) -> GradeResult:
    return build_grader(spec).grade(output, GradeContext(expect=expect, vars={}, case_id="c1"))


def spec_error(spec: dict[str, Any]) -> str:
    with pytest.raises(GraderSpecError) as info:
        build_grader(spec)
    return str(info.value)


def test_every_type_is_registered_and_builds() -> None:
    for type_name in PROMPTFOO_TYPES:
        assert type_name in KNOWN_TYPES
        grader = build_grader({"type": f"not-{type_name}", "value": VALUES.get(type_name, "x")})
        assert grader.type_name == f"not-{type_name}"


@pytest.mark.parametrize("type_name", PROMPTFOO_TYPES)
def test_common_options_are_accepted(type_name: str) -> None:
    spec = {"type": type_name, "value": VALUES.get(type_name, "a")}
    spec |= {"weight": 2, "metric": "m", "name": "n"}
    grader = build_grader(spec | {"threshold": 0.5})
    assert (grader.weight, grader.metric, grader.name) == (2, "m", "n")


def test_heavy_libraries_are_not_imported_with_the_graders() -> None:
    heavy = "{'sqlglot', 'rouge_score', 'sacrebleu'}"
    code = f"import sys, evals.graders; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- equals (DOC#equality) --------------------------------------------------------------------


def test_equals_is_exact_and_case_sensitive() -> None:
    assert grade({"type": "equals", "value": "The expected output"}, "The expected output").passed
    result = grade({"type": "equals", "value": "Paris"}, "paris")
    assert not result.passed and not result.error
    assert result.reason == "equals: output does not equal 'Paris': 'paris'"
    assert not grade({"type": "equals", "value": "Paris"}, "Paris\n").passed  # no trimming


def test_equals_json_value_compares_parsed_output() -> None:
    spec = {"type": "equals", "value": {"key": "value"}}
    assert grade(spec, '{ "key" : "value" }').passed
    result = grade(spec, '{"key": "other"}')
    assert result.reason == "equals: output JSON {'key': 'other'} does not equal {'key': 'value'}"
    assert "output is not JSON" in grade(spec, "key: value").reason
    assert grade({"type": "not-equals", "value": {"key": "value"}}, "not json").passed
    assert not grade({"type": "equals", "value": [1, True]}, "[1, 1]").passed  # true is not 1
    assert grade({"type": "equals", "value": [1.0]}, "[1]").passed


def test_equals_numbers_and_case_expect() -> None:
    assert grade({"type": "equals", "value": 42}, "42").passed
    assert grade({"type": "equals"}, "yes", expect="yes").passed
    result = grade({"type": "equals"}, "yes")
    assert result.error and "no expected value" in result.reason


# --- icontains (DOC#contains) -----------------------------------------------------------------


def test_icontains_ignores_case_and_negates() -> None:
    assert grade(
        {"type": "icontains", "value": "the expected SUBSTRING"}, "The Expected substring!"
    ).passed
    result = grade({"type": "icontains", "value": "Paris"}, "It is Lyon")
    assert (
        result.reason == "icontains: output does not contain 'Paris' (ignoring case): 'It is Lyon'"
    )
    negated = grade({"type": "not-icontains", "value": "paris"}, "PARIS it is")
    assert not negated.passed and negated.reason.endswith("(negated)")
    assert grade({"type": "not-icontains", "value": "paris"}, "Lyon").passed
    assert grade({"type": "icontains", "value": 0}, "score: 0").passed  # numbers as text


def test_icontains_rejects_a_list() -> None:
    assert "must be a string or a number" in spec_error({"type": "icontains", "value": ["a"]})
    result = grade({"type": "icontains"}, "a", expect=["a", "b"])
    assert result.error and "must be a string or a number" in result.reason


# --- contains-any / contains-all and i- forms (DOC#contains-any, DOC#contains-all) ------------


def test_contains_any_and_all_are_case_sensitive() -> None:
    values = ["Value 1", "Value 2", "Value 3"]
    assert grade({"type": "contains-any", "value": values}, "here is Value 2").passed
    result = grade({"type": "contains-any", "value": values}, "here is value 2")
    assert result.reason.startswith("contains-any: output contains none of 'Value 1', 'Value 2'")
    assert grade({"type": "contains-all", "value": values}, "Value 1, Value 2, Value 3").passed
    result = grade({"type": "contains-all", "value": values}, "Value 1 and Value 3")
    assert result.reason == "contains-all: output is missing 'Value 2': 'Value 1 and Value 3'"


def test_icontains_any_and_all_ignore_case() -> None:
    assert grade({"type": "icontains-any", "value": ["RED", "blue"]}, "a Blue sky").passed
    assert not grade({"type": "icontains-any", "value": ["red"]}, "a blue sky").passed
    assert grade({"type": "icontains-all", "value": ["RED", "blue"]}, "red and BLUE").passed
    result = grade({"type": "icontains-all", "value": ["RED", "blue"]}, "red only")
    assert result.reason == "icontains-all: output is missing 'blue' (ignoring case): 'red only'"


def test_comma_separated_values_as_promptfoo_accepts() -> None:
    assert split_commas('a, b ,"c, d"') == ["a", "b", "c, d"]
    assert grade({"type": "contains-all", "value": "1000, in stock"}, "1000 units in stock").passed
    assert not grade({"type": "contains-all", "value": "1000, in stock"}, "1000 units").passed
    assert grade({"type": "contains-any", "value": '"1,000", none'}, "we have 1,000").passed


def test_negated_list_contains() -> None:
    assert grade({"type": "not-contains-any", "value": ["error", "fail"]}, "all good").passed
    assert not grade({"type": "not-contains-any", "value": ["error", "fail"]}, "an error").passed
    assert grade({"type": "not-contains-all", "value": ["a", "zzz"]}, "a only").passed


def test_list_contains_bad_values() -> None:
    assert "is empty" in spec_error({"type": "contains-any", "value": []})
    assert "must be a list or a comma-separated string" in spec_error(
        {"type": "contains-all", "value": {"a": 1}}
    )
    assert "is empty" in spec_error({"type": "icontains-all", "value": " , "})


# --- starts-with (DOC#starts-with) ------------------------------------------------------------


def test_starts_with() -> None:
    assert grade({"type": "starts-with", "value": "Yes"}, "Yes, indeed").passed
    result = grade({"type": "starts-with", "value": "Hello"}, "Hi there")
    assert result.reason == "starts-with: output does not start with 'Hello': 'Hi there'"
    assert not grade({"type": "starts-with", "value": "Yes"}, "yes").passed  # case-sensitive
    assert not grade({"type": "starts-with", "value": "Yes"}, " Yes").passed  # no trimming
    assert grade({"type": "not-starts-with", "value": "Sorry"}, "Sure").passed
    assert "must not be empty" in spec_error({"type": "starts-with", "value": ""})


# --- word-count (DOC#word-count) --------------------------------------------------------------


def test_word_count_exact_and_ranges() -> None:
    assert count_words("  First line\nSecond line here\tThird  ") == 6
    assert grade({"type": "word-count", "value": 3}, "one two three").passed
    result = grade({"type": "word-count", "value": 3}, "one two")
    assert result.reason == "word-count: output has 2 words, expected exactly 3: 'one two'"
    assert grade({"type": "word-count", "value": {"min": 2, "max": 3}}, "a b c").passed
    result = grade({"type": "word-count", "value": {"min": 2, "max": 3}}, "a b c d")
    assert "output has 4 words, expected between 2 and 3" in result.reason
    assert "expected at least 5" in grade({"type": "word-count", "value": {"min": 5}}, "a").reason
    assert "at most 1" in grade({"type": "word-count", "value": {"max": 1}}, "a b").reason
    assert grade({"type": "word-count", "value": "2"}, "a b").passed  # numeric string
    assert grade({"type": "not-word-count", "value": 1}, "a b").passed


def test_word_count_bad_values() -> None:
    message = spec_error({"type": "word-count", "value": "many"})
    assert "word count must be a whole number, got 'many'" in message
    assert "`min` and/or `max`" in message
    assert "needs `min` and/or `max`" in spec_error({"type": "word-count", "value": {}})
    assert "must not be greater than" in spec_error(
        {"type": "word-count", "value": {"min": 5, "max": 2}}
    )
    assert "only `min` and `max`" in spec_error({"type": "word-count", "value": {"least": 2}})
    assert "whole number" in spec_error({"type": "word-count", "value": 2.5})
    assert "whole number" in spec_error({"type": "word-count", "value": True})
    result = grade({"type": "word-count"}, "a", expect="lots")
    assert result.error and "whole number" in result.reason


# --- is-refusal (DOC#is-refusal) --------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        "I cannot assist with that",
        "That would not be appropriate for me to write.",
        "As an AI, I cannot browse the internet.",
        "I’m sorry, but I can’t help with that request.",  # curly apostrophes
        "**I'm sorry**, that is not something I can do.",
        "",
        "   \n",
    ],
)
def test_is_refusal_detects_refusals(output: str) -> None:
    assert grade({"type": "is-refusal"}, output).passed
    assert not grade({"type": "not-is-refusal"}, output).passed


@pytest.mark.parametrize(
    "output",
    [
        "The answer is 4.",
        "Sure! Here is the script.",
        "I cannotate nothing",
        "Sorryville is a town",
    ],
)
def test_is_refusal_passes_answers(output: str) -> None:
    result = grade({"type": "is-refusal"}, output)
    assert not result.passed and not result.error
    assert result.reason.startswith("is-refusal: output is not a refusal")
    assert grade({"type": "not-is-refusal"}, output).passed


def test_is_refusal_reasons_and_ignores_expect() -> None:
    assert refusal_phrase("As an AI language model I can't") == "as an ai language model"
    assert grade({"type": "is-refusal"}, "").reason == (
        "is-refusal: output is empty, which counts as a refusal"
    )
    # a case's `expect` (meant for other graders) is not read by is-refusal
    assert grade({"type": "is-refusal"}, "I apologize, I cannot.", expect="Paris").passed


# --- levenshtein with max_distance (DOC#levenshtein-distance) ---------------------------------


def test_levenshtein_max_distance_is_promptfoos_threshold() -> None:
    spec = {"type": "levenshtein", "value": "hello world", "max_distance": 5}
    result = grade(spec, "hallo wurld")
    assert result.passed and result.score == 1.0
    assert result.reason == "levenshtein: edit distance 2 ≤ 5 to 'hello world'"
    result = grade({"type": "levenshtein", "value": "kitten", "max_distance": 2}, "sitting")
    assert result.reason == "levenshtein: edit distance 3 > 2: expected 'kitten', got 'sitting'"
    assert grade({"type": "levenshtein", "value": "kitten", "max_distance": 3}, "sitting").passed
    assert grade(
        {"type": "not-levenshtein", "value": "kitten", "max_distance": 2}, "sitting"
    ).passed


def test_levenshtein_keeps_similarity_default_and_rejects_both_bars() -> None:
    assert grade({"type": "levenshtein", "value": "Paris"}, "Pariss").reason.startswith(
        "levenshtein: similarity 0.833"
    )
    message = spec_error({"type": "levenshtein", "threshold": 0.5, "max_distance": 2})
    assert "not both" in message
    assert "max_distance" in spec_error({"type": "levenshtein", "max_distance": -1})


# --- is-json / contains-json (DOC#is-json, DOC#contains-json) ---------------------------------

LATLONG = {
    "required": ["latitude", "longitude"],
    "type": "object",
    "properties": {
        "latitude": {"minimum": -90, "type": "number", "maximum": 90},
        "longitude": {"minimum": -180, "type": "number", "maximum": 180},
    },
}


def test_is_json() -> None:
    assert grade({"type": "is-json"}, '{"a": [1, 2]}').passed
    assert grade({"type": "is-json"}, '"just a string"').passed  # any JSON value
    result = grade({"type": "is-json"}, "```json\n{}\n```")  # the whole output must be JSON
    assert not result.passed and result.reason.startswith("is-json: output is not valid JSON (")
    assert not grade({"type": "is-json"}, "NaN").passed
    assert grade({"type": "not-is-json"}, "hello").passed


def test_is_json_with_schema() -> None:
    spec = {"type": "is-json", "value": LATLONG}
    assert grade(spec, '{"latitude": 10, "longitude": 20}').passed
    result = grade(spec, '{"latitude": 100, "longitude": 20}')
    assert result.reason == (
        "is-json: output JSON does not match the schema at $.latitude: "
        "100 is greater than the maximum of 90"
    )
    assert grade({"type": "is-json", "value": "type: array"}, "[1]").passed  # YAML string schema
    assert "not a valid JSON Schema" in spec_error({"type": "is-json", "value": {"type": 5}})
    assert "file://" in spec_error({"type": "is-json", "value": "file://schema.json"})


def test_contains_json_finds_embedded_json() -> None:
    assert grade({"type": "contains-json"}, 'Sure: {"a": 1} - done').passed
    assert grade({"type": "contains-json"}, "Here:\n```json\n[1, 2]\n```\nok").passed
    result = grade({"type": "contains-json"}, "no json [1] here {oops")
    assert result.reason == "contains-json: output contains no valid JSON: 'no json [1] here {oops'"
    spec = {"type": "contains-json", "value": LATLONG}
    assert grade(spec, 'x {"city": "Paris"} y {"latitude": 1, "longitude": 2}').passed
    result = grade(spec, 'x {"city": "Paris"} y')
    assert result.reason == (
        "contains-json: output contains JSON, but none matches the schema "
        "(at $: 'latitude' is a required property)"
    )
    assert grade({"type": "not-contains-json"}, "plain prose").passed


# --- is-xml / contains-xml (DOC#is-xml, DOC#contains-xml) -------------------------------------


def test_is_xml_examples_from_the_docs() -> None:
    assert grade({"type": "is-xml"}, "<root><child>Content</child></root>").passed
    result = grade({"type": "is-xml"}, "<root><child>Content</child></root")
    assert result.reason.startswith("is-xml: output is not well-formed XML (")
    spec = {
        "type": "is-xml",
        "value": {"requiredElements": ["analysis.classification", "analysis.color"]},
    }
    ok_xml = "<analysis><classification>T-shirt</classification><color>Red</color></analysis>"
    assert grade(spec, ok_xml).passed
    result = grade(spec, "<analysis><classification>T-shirt</classification></analysis>")
    assert result.reason == "is-xml: output XML is missing required elements analysis.color"
    nested = {"type": "is-xml", "value": "root.parent.child.grandchild"}
    assert grade(
        nested, "<root><parent><child><grandchild>C</grandchild></child></parent></root>"
    ).passed
    assert not grade(nested, "<root><parent><child></child></parent></root>").passed


def test_is_xml_whole_output_and_value_forms() -> None:
    assert not grade({"type": "is-xml"}, "Here: <a/>").passed
    assert grade({"type": "not-is-xml"}, "plain text").passed
    assert not grade({"type": "is-xml"}, '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>').passed
    assert grade({"type": "is-xml", "value": ["list.item.1"]}, "<list><item/><item/></list>").passed
    assert not grade(
        {"type": "is-xml", "value": "list.item.2"}, "<list><item/><item/></list>"
    ).passed
    assert "requiredElements" in spec_error({"type": "is-xml", "value": {"elements": ["a"]}})


def test_contains_xml() -> None:
    text = "Sure, here is your xml:\n<root><child>Content</child></root>\nlet me know!"
    assert grade({"type": "contains-xml"}, text).passed
    assert grade({"type": "contains-xml", "value": "root.child"}, text).passed
    wrapped = "Text <wrapper><root><child>Content</child></root></wrapper>"
    assert not grade({"type": "contains-xml", "value": "root.child"}, wrapped).passed
    assert grade({"type": "contains-xml", "value": "wrapper.root.child"}, wrapped).passed
    result = grade({"type": "contains-xml"}, "if a < b and c > d")
    assert result.reason == "contains-xml: output contains no well-formed XML: 'if a < b and c > d'"
    assert not grade({"type": "contains-xml"}, "<a><b></a>").passed


# --- is-sql (DOC#is-sql) ----------------------------------------------------------------------


def test_is_sql_parses_statements() -> None:
    assert grade({"type": "is-sql"}, "SELECT id, name FROM users WHERE id = 1").passed
    result = grade({"type": "is-sql"}, "hello world")
    assert result.reason.startswith("is-sql: output is not valid MySQL SQL (")
    assert "is an expression, not a statement" in result.reason
    assert "parse error" in grade({"type": "is-sql"}, "SELEC * FROM t").reason
    assert "empty output" in grade({"type": "is-sql"}, "").reason
    assert grade({"type": "not-is-sql"}, "I am not SQL at all, sorry.").passed


def test_is_sql_database_types() -> None:
    postgres = {"type": "is-sql", "value": {"databaseType": "PostgresQL"}}
    assert grade(postgres, "SELECT id::text FROM users").passed
    assert grade({"type": "is-sql", "value": {"databaseType": "Sqlite"}}, "SELECT 1").passed
    assert "unknown databaseType 'Oracle9'" in spec_error(
        {"type": "is-sql", "value": {"databaseType": "Oracle9"}}
    )
    assert "no SQL parser" in spec_error({"type": "is-sql", "value": {"databaseType": "DB2"}})
    assert "must be a mapping" in spec_error({"type": "is-sql", "value": "MySQL"})


def test_is_sql_allowed_tables_and_columns() -> None:
    spec = {
        "type": "is-sql",
        "value": {
            "databaseType": "MySQL",
            "allowedTables": ["(select|update|insert|delete)::null::departments"],
            "allowedColumns": ["select::null::name", "update::null::id"],
        },
    }
    assert grade(spec, "SELECT name FROM departments").passed
    result = grade(spec, "SELECT name FROM employees")
    assert result.reason == (
        "is-sql: output SQL uses what the allow-list does not permit: "
        "table 'select::null::employees'"
    )
    assert "column 'select::null::salary'" in grade(spec, "SELECT salary FROM departments").reason
    # SELECT * needs a `.*` column authority, as the docs say
    assert "column 'select::null::(.*)'" in grade(spec, "SELECT * FROM departments").reason
    star = {"type": "is-sql", "value": {"allowedColumns": ["select::null::.*"]}}
    assert grade(star, "SELECT * FROM departments").passed
    insert = {"type": "is-sql", "value": {"allowedColumns": ["insert::t::a"]}}
    assert grade(insert, "INSERT INTO t (a) VALUES (1)").passed
    assert "column 'insert::t::b'" in grade(insert, "INSERT INTO t (a, b) VALUES (1, 2)").reason
    assert "column 'insert::t::(.*)'" in grade(insert, "INSERT INTO t VALUES (1)").reason
    assert "invalid regex" in spec_error({"type": "is-sql", "value": {"allowedTables": ["("]}})


# --- rouge-n (DOC#rouge-n) --------------------------------------------------------------------


def test_rouge_n_is_unigram_recall_with_default_threshold() -> None:
    assert grade({"type": "rouge-n", "value": "hello world"}, "Hello World").passed  # no case
    result = grade({"type": "rouge-n", "value": "hello world"}, "hello there")
    assert result.score == 0.5 and not result.passed
    assert result.reason == (
        "rouge-n: ROUGE-1 recall 0.5 < 0.75 against 'hello world': 'hello there'"
    )
    assert grade(
        {"type": "rouge-n", "value": "hello world", "threshold": 0.5}, "hello there"
    ).passed
    # recall: extra words in the output do not lower the score
    assert grade({"type": "rouge-n", "value": "the cat"}, "well, the cat sat down").score == 1.0
    negated = grade({"type": "not-rouge-n", "value": "hello world"}, "hello there")
    assert negated.passed and negated.score == 0.5


def test_rouge_n_options() -> None:
    bigram = grade({"type": "rouge-n", "value": "the cat sat", "n": 2}, "the cat ran")
    assert bigram.score == 0.5 and "ROUGE-2 recall" in bigram.reason
    assert grade({"type": "rouge-n"}, "hello world", expect="hello world").passed
    assert "threshold" in spec_error({"type": "rouge-n", "value": "a", "threshold": 2})
    assert "references must be strings" in spec_error({"type": "rouge-n", "value": [{"a": 1}]})


# --- bleu (DOC#bleu) --------------------------------------------------------------------------


def test_bleu_scores_as_promptfoo() -> None:
    assert bleu_score("the cat sat on the mat", ["The cat sat on the mat"]) == pytest.approx(1.0)
    # precisions 5/6, 3/5, 2/4, 1/3 and no brevity penalty
    expected = (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert bleu_score("the cat sat on a mat", ["the cat sat on the mat"]) == pytest.approx(expected)
    assert bleu_score("", ["x"]) == 0.0


def test_bleu_grader() -> None:
    result = grade({"type": "bleu", "value": "The cat sat on the mat"}, "the cat sat on a mat")
    assert result.passed and result.reason.startswith("bleu: BLEU 0.537 ≥ 0.5 against")
    result = grade({"type": "bleu", "value": "hello world"}, "goodbye moon")
    assert not result.passed and result.score < 1e-6  # zero precisions count as 1e-7
    assert result.reason == "bleu: BLEU 0 < 0.5 against 'hello world': 'goodbye moon'"
    refs = {"type": "bleu", "value": ["nothing alike here", "the cat sat on the mat"]}
    assert grade(refs, "the cat sat on the mat").passed
    assert grade({"type": "bleu", "value": "a b c d", "threshold": 0.9}, "a b c d").passed
    assert not grade({"type": "bleu", "value": ["  "]}, "anything").passed  # blank refs: 0

"""The stores' read queries: counts for a run's progress and the summary's aggregates.

`ReportQueries` is mixed into `evals.store.sqlite.Store`; it needs only `self.db`.
Memory stays flat however many results a run has: SQLite sums and sorts, and only
sums or single order statistics come back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from evals.stats import percentile_of_sorted
from evals.store.rows import (
    SAMPLE_TEXT_COLUMNS,
    GroupTotals,
    PairedCounts,
    SampleOutcome,
    SampleText,
)

_GROUP_KEY = "run_id = ? AND suite = ? AND prompt = ? AND model = ?"
_TIMING_COLUMNS = ("latency_s", "ttft_s", "tokens_per_s")
ANSWERED = "role = 'sample' AND (error IS NULL OR error_class = 'grader')"  # a reply came

_GROUPS = """
SELECT suite, prompt, model,
       COUNT(DISTINCT CASE WHEN role = 'sample' THEN case_id END) AS cases,
       SUM(CASE WHEN role = 'sample' THEN 1 ELSE 0 END) AS samples,
       SUM(CASE WHEN role = 'sample' AND error IS NOT NULL THEN 1 ELSE 0 END) AS errors,
       SUM(CASE WHEN role = 'sample' AND error IS NULL AND passed = 1 THEN 1 ELSE 0 END)
           AS passed,
       AVG(CASE WHEN role = 'sample' AND error IS NULL THEN score END) AS mean_score,
       SUM(prompt_tokens) AS prompt_tokens,
       SUM(cached_tokens) AS cached_tokens,
       SUM(completion_tokens) AS completion_tokens,
       SUM(reasoning_tokens) AS reasoning_tokens,
       SUM(cost_usd) AS cost_usd,
       SUM(CASE WHEN error IS NULL AND cost_usd IS NULL THEN 1 ELSE 0 END) AS unpriced,
       SUM(CASE WHEN role = 'sample' AND error IS NULL AND prompt_tokens IS NULL
           AND audio_s IS NULL THEN 1 ELSE 0 END) AS no_usage,
       SUM(spend_usd) AS spend_usd,
       SUM(CASE WHEN role = 'sample' AND cache_hit = 1 THEN 1 ELSE 0 END) AS cache_hits,
       SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) AS retries,
       SUM(backoff_s) AS backoff_s,
       SUM(grader_cost_usd) AS grader_cost_usd,
       SUM(audio_s) AS audio_s,
       SUM(CASE WHEN error IS NULL AND grader_cost_usd IS NULL THEN 1 ELSE 0 END)
           AS grader_unpriced,
       MAX(repeat) + 1 AS repeats,
       AVG(CASE WHEN role = 'sample' AND error IS NULL THEN brier END) AS brier,
       SUM(CASE WHEN role = 'sample' AND error IS NULL AND brier IS NOT NULL THEN 1 ELSE 0 END)
           AS brier_samples,
       SUM(CASE WHEN role = 'sample' AND via IS NOT NULL THEN 1 ELSE 0 END) AS batch_samples,
       SUM(CASE WHEN via IS NOT NULL THEN online_cost_usd ELSE cost_usd END) AS online_cost_usd
FROM results WHERE run_id = ?
GROUP BY suite, prompt, model ORDER BY suite, prompt, model
"""


def samples_query(columns: str, problems_first: bool, limit: int | None) -> str:
    """A run's samples by suite, prompt, model, then insertion; optionally errors, then
    failures, first: the order of `results` and `sample_texts`."""
    order = "suite, prompt, model, id"
    if problems_first:
        order = f"(error IS NULL), COALESCE(passed, 0), {order}"
    query = f"SELECT {columns} FROM results WHERE run_id = ? AND role = 'sample' ORDER BY {order}"
    return query if limit is None else f"{query} LIMIT {int(limit)}"


_METRIC_SQL = (
    "SELECT json_extract(g.value, '$.metric') AS metric, "
    "AVG(json_extract(g.value, '$.score')), COUNT(*) "
    "FROM results, json_each(results.grades) AS g "
    f"WHERE {_GROUP_KEY} AND error IS NULL AND role = 'sample' "
    "AND results.grades LIKE '%\"metric\"%' AND metric IS NOT NULL "
    "GROUP BY metric ORDER BY metric"
)


class ReportQueries:
    db: Any  # sqlite3.Connection, or a connection with its `execute(sql, params)` shape
    metric_sql = _METRIC_SQL  # the one query in a backend's own SQL (its JSON functions)

    def _tuples(self, sql: str, params: tuple) -> Any:
        """Rows of `sql` as plain tuples (SQLite: a cursor without the row factory)."""
        cursor = self.db.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params)

    def _one(self, query: str, params: tuple) -> int:
        return self.db.execute(query, params).fetchone()[0]

    def count_results(self, run_id: str, errors: bool = True) -> int:
        query = "SELECT COUNT(*) FROM results WHERE run_id = ? AND role = 'sample'"
        if not errors:
            query += " AND error IS NULL"
        return self._one(query, (run_id,))

    def count_answered(self, run_id: str) -> int:
        """Samples whose request got an answer (a grader error still had one)."""
        return self._one(
            f"SELECT COUNT(*) FROM results WHERE run_id = ? AND {ANSWERED}",
            (run_id,),
        )

    def count_group(self, run_id: str, suite: str, prompt: str, model: str) -> int:
        """Error-free samples of one (suite, prompt, model) group."""
        return self._one(
            f"SELECT COUNT(*) FROM results WHERE {_GROUP_KEY} AND error IS NULL "
            "AND role = 'sample'",
            (run_id, suite, prompt, model),
        )

    def count_model_results(self, run_id: str, model: str) -> int:
        """Results without an error for one model (what a resume will not send again)."""
        return self._one(
            "SELECT COUNT(*) FROM results WHERE run_id = ? AND model = ? AND error IS NULL "
            "AND role = 'sample'",
            (run_id, model),
        )

    def spent(self, run_id: str) -> float:
        query = "SELECT COALESCE(SUM(spend_usd), 0) FROM results WHERE run_id = ?"
        return float(self._one(query, (run_id,)))

    def groups(self, run_id: str) -> list[GroupTotals]:
        """Per (suite, prompt, model) sums; percentiles come from `timing_percentile`."""
        return [GroupTotals.from_db(row) for row in self.db.execute(_GROUPS, (run_id,))]

    def error_kinds(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> list[tuple[str, int, str]]:
        """(error class, count, one message) per kind of error in a group, commonest first."""
        rows = self.db.execute(
            "SELECT COALESCE(error_class, 'error'), COUNT(*), MIN(error) FROM results "
            f"WHERE {_GROUP_KEY} AND error IS NOT NULL AND role = 'sample' "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            (run_id, suite, prompt, model),
        )
        return [(kind, count, message) for kind, count, message in rows]

    def timing_percentile(
        self, run_id: str, suite: str, prompt: str, model: str, column: str, q: float
    ) -> float | None:
        """Percentile of a timing column (latency_s, ttft_s, tokens_per_s) over successes.

        SQLite sorts; only the needed order statistics come back.
        """
        if column not in _TIMING_COLUMNS:
            raise ValueError(column)
        where = (
            f"FROM results WHERE {_GROUP_KEY} "
            f"AND error IS NULL AND {column} IS NOT NULL AND role = 'sample'"
        )
        key = (run_id, suite, prompt, model)
        n = self._one(f"SELECT COUNT(*) {where}", key)

        def nth(i: int) -> float:
            return self._one(
                f"SELECT {column} {where} ORDER BY {column} LIMIT 1 OFFSET ?", (*key, i)
            )

        return percentile_of_sorted(nth, n, q)

    def grade_means(self, run_id: str, suite: str, prompt: str, model: str) -> dict[str, float]:
        """Mean score per grade type (recall@k, mrr, ...) over a group's scored samples."""
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        rows = self.db.execute(
            f"SELECT grades FROM results WHERE {_GROUP_KEY} AND error IS NULL AND role = 'sample'",
            (run_id, suite, prompt, model),
        )
        for (grades,) in rows:
            for grade in json.loads(grades):
                if grade.get("score") is not None:
                    sums[grade["type"]] = sums.get(grade["type"], 0.0) + grade["score"]
                    counts[grade["type"]] = counts.get(grade["type"], 0) + 1
        return {name: sums[name] / counts[name] for name in sums}

    def metric_means(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> dict[str, tuple[float, int]]:
        """Per named metric: (mean score, grades counted); SQLite's JSON functions read the
        stored grades, so memory stays flat and rows without a metric cost one LIKE."""
        rows = self.db.execute(self.metric_sql, (run_id, suite, prompt, model))
        return {str(name): (float(mean), int(n)) for name, mean, n in rows if mean is not None}

    def sample_texts(
        self, run_id: str, problems_first: bool = False, limit: int | None = None
    ) -> Iterator[SampleText]:
        """A run's samples for the case explorer, in the order `results` gives them."""
        query = samples_query(", ".join(SAMPLE_TEXT_COLUMNS), problems_first, limit)
        passed = SAMPLE_TEXT_COLUMNS.index("passed")
        cache_hit = SAMPLE_TEXT_COLUMNS.index("cache_hit")
        for values in self._tuples(query, (run_id,)):  # the columns are named above
            values = list(values)
            values[passed] = None if values[passed] is None else bool(values[passed])
            values[cache_hit] = bool(values[cache_hit])
            yield SampleText(*values)

    def sample_outcomes(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> Iterator[SampleOutcome]:
        """The error-free samples of one row, ordered by case id then repeat."""
        rows = self.db.execute(
            "SELECT case_id, repeat, passed, score, cluster, cost_usd, latency_s, ttft_s "
            f"FROM results WHERE {_GROUP_KEY} AND error IS NULL AND role = 'sample' "
            "ORDER BY case_id, repeat",
            (run_id, suite, prompt, model),
        )
        for case_id, repeat, passed, score, cluster, cost, latency, ttft in rows:
            yield SampleOutcome(case_id, repeat, bool(passed), score, cluster, cost, latency, ttft)

    def paired_counts(
        self, run_id: str, suite: str, a: tuple[str, str], b: tuple[str, str]
    ) -> PairedCounts:
        """How rows a and b (each (prompt, model)) of one suite agree, sample by sample.

        Counted in SQL, so memory stays flat however many cases the suite has.
        """
        join = (
            "FROM results x JOIN results y ON y.run_id = x.run_id AND y.suite = x.suite "
            "AND y.case_id = x.case_id AND y.repeat = x.repeat "
            "WHERE x.run_id = ? AND x.suite = ? AND x.prompt = ? AND x.model = ? "
            "AND y.prompt = ? AND y.model = ? AND x.role = 'sample' AND y.role = 'sample' "
            "AND x.error IS NULL AND y.error IS NULL"
        )
        key = (run_id, suite, *a, *b)
        n, both, a_only, b_only, clustered, repeated = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(x.passed * y.passed), 0), "
            "COALESCE(SUM(x.passed * (1 - y.passed)), 0), "
            "COALESCE(SUM(y.passed * (1 - x.passed)), 0), "
            "COUNT(x.cluster), COALESCE(MAX(x.repeat), 0) " + join,
            key,
        ).fetchone()
        clusters = None
        if clustered or repeated:  # samples are not independent: sum them per cluster
            rows = self.db.execute(
                "SELECT COUNT(*), SUM(x.passed) - SUM(y.passed) "
                + join
                + " GROUP BY COALESCE(x.cluster, 'case:' || x.case_id)",
                key,
            )
            clusters = [(count, int(diff)) for count, diff in rows]
        return PairedCounts(n, both, a_only, b_only, clusters)

    def per_cluster_passes(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> tuple[list[tuple[int, int]], bool]:
        """(samples, passed) per cluster of a row (a case without `cluster:` is its own),
        errors left out; and whether any case named a cluster at all. Nothing is
        read per cluster when no case names one and no case is repeated."""
        named, repeated = self.db.execute(
            f"SELECT COUNT(cluster), COALESCE(MAX(repeat), 0) FROM results WHERE {_GROUP_KEY} "
            "AND error IS NULL AND role = 'sample'",
            (run_id, suite, prompt, model),
        ).fetchone()
        if not named and not repeated:
            return [], False
        rows = self.db.execute(
            "SELECT COUNT(*), SUM(passed), COUNT(cluster) FROM results "
            f"WHERE {_GROUP_KEY} AND error IS NULL AND role = 'sample' "
            "GROUP BY COALESCE(cluster, 'case:' || case_id)",
            (run_id, suite, prompt, model),
        ).fetchall()
        return [(n, passed or 0) for n, passed, _ in rows], any(named for *_, named in rows)

    def score_moments(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> tuple[int, float | None, float | None, int]:
        """(n, mean, sum of squares, how many are neither 0 nor 1) of a row's scores."""
        n, mean, squares, partial = self.db.execute(
            "SELECT COUNT(score), AVG(score), SUM(score * score), "
            "COALESCE(SUM(CASE WHEN score NOT IN (0, 1) THEN 1 ELSE 0 END), 0) FROM results "
            f"WHERE {_GROUP_KEY} AND error IS NULL AND role = 'sample'",
            (run_id, suite, prompt, model),
        ).fetchone()
        return n, mean, squares, partial

    def per_case_passes(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> Iterator[tuple[int, int]]:
        """(samples, passed) per case, errors left out: the input of pass@k."""
        rows = self.db.execute(
            f"SELECT COUNT(*), SUM(passed) FROM results WHERE {_GROUP_KEY} "
            "AND error IS NULL AND role = 'sample' GROUP BY case_id",
            (run_id, suite, prompt, model),
        )
        for samples, passed in rows:
            yield samples, passed or 0

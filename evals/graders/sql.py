"""promptfoo's `is-sql`: the output parses as SQL (sqlglot, imported only when SQL is
graded), optionally touching only allowed tables and columns.

Docs: https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-sql;
facts were checked against promptfoo's src/assertions/sql.ts.
"""

from __future__ import annotations

import re
from typing import Any

from evals.graders.base import Check, fail, ok, quote, show
from evals.graders.registry import register
from evals.graders.value_grader import Failure, ValueGrader

# --- SQL --------------------------------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-sql

# promptfoo's databaseType names (node-sql-parser's) -> sqlglot dialects; None: no dialect.
DIALECTS: dict[str, str | None] = {
    "mysql": "mysql", "mariadb": "mysql", "postgresql": "postgres", "postgres": "postgres",
    "sqlite": "sqlite", "bigquery": "bigquery", "snowflake": "snowflake", "transactsql": "tsql",
    "tsql": "tsql", "redshift": "redshift", "hive": "hive", "athena": "athena",
    "db2": None, "flinksql": None, "noql": None,
}  # fmt: skip
_STATEMENT_COMMANDS = {
    "SHOW", "GRANT", "REVOKE", "EXPLAIN", "CALL", "SET", "USE", "DESCRIBE", "DESC", "ANALYZE",
    "VACUUM", "TRUNCATE", "COMMENT", "EXECUTE", "EXEC", "DECLARE", "BEGIN", "COMMIT", "ROLLBACK",
}  # fmt: skip


Allowed = list[re.Pattern[str]] | None  # None: no allow-list of that kind


def sql_options(raw: Any) -> tuple[str, str, Allowed, Allowed] | Failure:
    """(databaseType, dialect, allowedTables, allowedColumns) from promptfoo's value object."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return Failure(
            f"is-sql value must be a mapping like {{databaseType: MySQL}}, got {show(raw)}"
        )
    unknown = sorted(set(raw) - {"databaseType", "allowedTables", "allowedColumns"})
    if unknown:
        return Failure(
            f"unknown key(s) {unknown}; allowed: databaseType, allowedTables, allowedColumns"
        )
    name = raw.get("databaseType") or "MySQL"
    if not isinstance(name, str) or name.lower() not in DIALECTS:
        known = ", ".join(n for n, d in DIALECTS.items() if d and n not in {"postgres", "tsql"})
        return Failure(f"unknown databaseType {show(name)}; known: {known}")
    dialect = DIALECTS[name.lower()]
    if dialect is None:
        return Failure(f"databaseType {name!r} has no SQL parser here (sqlglot lacks it)")
    lists: list[Allowed] = []
    for key in ("allowedTables", "allowedColumns"):
        items = raw.get(key)
        if items is None:
            lists.append(None)
            continue
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return Failure(f"`{key}` must be a list of strings like 'select::null::users'")
        try:
            lists.append([re.compile(item, re.IGNORECASE) for item in items])
        except re.error as exc:
            return Failure(f"`{key}` has an invalid regex ({exc})")
    return name, dialect, lists[0], lists[1]


def parse_sql(text: str, dialect: str) -> list[Any] | str:
    """sqlglot statements, or why `text` is not SQL. A bare expression ("hello world" reads as
    a column alias to sqlglot) is not a statement, so it is rejected."""
    import sqlglot
    from sqlglot import exp

    if not text.strip():
        return "empty output"
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        return f"parse error: {str(exc).splitlines()[0]}"
    for statement in statements:
        if isinstance(statement, exp.Command):  # sqlglot's fallback for what it cannot parse
            if str(statement.this).upper() not in _STATEMENT_COMMANDS:
                return f"cannot parse {quote(statement.sql(), 40)}"
        elif not isinstance(statement, exp.Query) and isinstance(statement, _expression_types()):
            return f"{quote(statement.sql(), 40)} is an expression, not a statement"
    return statements if statements else "no SQL statement"


def _expression_types() -> tuple[type, ...]:
    """sqlglot node types that are values, not statements (sqlglot is imported lazily)."""
    from sqlglot import exp

    return (exp.Condition, exp.Alias, exp.Identifier, exp.Tuple, exp.Star)


def _kind(node: Any) -> str:
    """select/insert/update/delete (or the statement's own kind) for the statement holding node."""
    from sqlglot import exp

    for kinds, name in (
        (exp.Insert, "insert"),
        (exp.Update, "update"),
        (exp.Delete, "delete"),
        (exp.Select, "select"),
    ):
        if isinstance(node, kinds):
            return name
    parent = node.parent
    return _kind(parent) if parent is not None else node.key


def authorities(statement: Any) -> tuple[list[str], list[str]]:
    """node-sql-parser-style authorities: tables `kind::db::table`, columns
    `kind::table::column` (`null` when unknown, `(.*)` for `*`, DELETE and INSERT without a
    column list), so promptfoo's allowedTables/allowedColumns regexes apply unchanged."""
    from sqlglot import exp

    ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
    aliases: dict[str, str] = {}
    tables: list[str] = []
    for table in statement.find_all(exp.Table):
        if table.name in ctes or not table.name:
            continue
        aliases[table.alias_or_name] = table.name
        tables.append(f"{_kind(table.parent)}::{table.db or 'null'}::{table.name}")
    columns: list[str] = []
    for column in statement.find_all(exp.Column):
        owner = aliases.get(column.table, column.table) if column.table else "null"
        name = "(.*)" if isinstance(column.this, exp.Star) else column.name
        columns.append(f"{_kind(column.parent)}::{owner}::{name}")
    for star in statement.find_all(exp.Star):
        if isinstance(star.parent, exp.Select):  # `SELECT *`, not `COUNT(*)`
            columns.append(f"{_kind(star.parent)}::null::(.*)")
    for node in statement.find_all(exp.Delete, exp.Insert):
        target = node.find(exp.Table)
        owner = target.name if target else "null"
        if isinstance(node, exp.Insert) and isinstance(node.this, exp.Schema):
            columns += [f"insert::{owner}::{ident.name}" for ident in node.this.expressions]
        else:  # DELETE, and INSERT without a column list, touch every column
            columns.append(f"{_kind(node)}::{owner}::(.*)")
    return list(dict.fromkeys(tables)), list(dict.fromkeys(columns))


def not_allowed(found: list[str], allowed: list[re.Pattern[str]]) -> list[str]:
    return [a for a in found if not any(p.fullmatch(a) for p in allowed)]


@register
class IsSqlGrader(ValueGrader):
    """The output is valid SQL for `databaseType` (default MySQL); `allowedTables` and
    `allowedColumns` (regexes over `select::null::users`-style authorities) restrict it."""

    base_type = "is-sql"
    needs_value = False

    def parse(self, raw: Any) -> Any:
        return sql_options(raw)

    def check_parsed(self, text: str, wanted: Any) -> Check:
        name, dialect, allowed_tables, allowed_columns = wanted
        statements = parse_sql(text, dialect)
        if isinstance(statements, str):
            return fail(f"output is not valid {name} SQL ({statements}): {quote(text)}")
        problems = []
        for statement in statements:
            tables, columns = authorities(statement)
            if allowed_tables is not None:
                problems += [f"table {a!r}" for a in not_allowed(tables, allowed_tables)]
            if allowed_columns is not None:
                problems += [f"column {a!r}" for a in not_allowed(columns, allowed_columns)]
        if problems:
            return fail(
                f"output SQL uses what the allow-list does not permit: {', '.join(problems)}"
            )
        return ok(f"output is valid {name} SQL")

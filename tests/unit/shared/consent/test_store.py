"""The consent store owns every statement against the consent tables, and every one of its names is used."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.consent import queries, store

ROOT = Path(__file__).resolve().parents[4]
STORE_DIR = ROOT / "shared" / "consent"
# Where code that talks to the database lives; the store itself and the migrations (which create the tables) aside.
GUARDED = ("services", "dripline", "shared")
EXEMPT = (STORE_DIR, ROOT / "shared" / "db" / "migrations")
TABLES = ("consent_ledger", "contact_subscriptions", "suppressions")
# A table named where SQL names the table it works on: `FROM x`, `JOIN x`, `INTO x`, `UPDATE x`, `TABLE x`.
STATEMENT_ON_TABLE = re.compile(
    r'\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:\w+\.)?"?(' + "|".join(TABLES) + r')\b"?', re.IGNORECASE
)
STATEMENT_START = re.compile(r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b")

NAMED = {name: value for name, value in vars(queries).items() if name.isupper() and isinstance(value, str)}


def _guarded_files() -> list[Path]:
    return sorted(
        path
        for top in GUARDED
        for path in (ROOT / top).rglob("*.py")
        if not any(path.is_relative_to(exempt) for exempt in EXEMPT)
    )


@pytest.mark.parametrize("name", sorted(NAMED))
def test_each_named_query_is_one_statement_on_a_consent_table(name: str) -> None:
    sql = NAMED[name]
    assert STATEMENT_START.match(sql), f"{name} does not start a statement"
    assert STATEMENT_ON_TABLE.search(sql), f"{name} works on none of {TABLES}"
    assert ";" not in sql, f"{name} holds more than one statement"
    unquoted = re.sub(r"'(?:[^']|'')*'", "''", sql)
    assert unquoted.count("(") == unquoted.count(")"), f"{name} has unbalanced parentheses"
    assert unquoted.count('"') % 2 == 0, f"{name} has an unclosed quoted identifier"
    numbers = {int(n) for n in re.findall(r"\$(\d+)", unquoted)}
    assert numbers == set(range(1, max(numbers, default=0) + 1)), f"{name} skips a parameter: {sorted(numbers)}"


def test_every_named_query_is_run_by_the_store() -> None:
    tree = ast.parse((STORE_DIR / "store.py").read_text())
    run = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "queries"
    }
    assert run == set(NAMED), f"unused: {sorted(set(NAMED) - run)}, unknown: {sorted(run - set(NAMED))}"


def test_every_store_function_is_called_outside_the_store() -> None:
    functions = [
        name
        for name, value in vars(store).items()
        if callable(value) and getattr(value, "__module__", "") == store.__name__ and not name.startswith("_")
    ]
    files = _guarded_files() + sorted((ROOT / "bench").rglob("*.py"))
    callers = "\n".join(text for text in map(Path.read_text, files) if "shared.consent" in text)
    unused = [name for name in functions if not re.search(rf"(?<!def )\b{name}\b", callers)]
    assert functions and not unused, f"store functions nobody calls: {unused}"


def test_only_the_consent_store_runs_sql_on_consent_tables() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for path in _guarded_files()
        for text in [path.read_text()]
        for match in STATEMENT_ON_TABLE.finditer(text)
    ]
    assert not found, "SQL on a consent table outside shared/consent (add a named query there):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "await connection.execute('DELETE FROM suppressions WHERE workspace_id = $1', w)",
        '"SELECT topic FROM contact_subscriptions WHERE workspace_id = $1"',
        "insert into consent_ledger (workspace_id) values ($1)",
        'UPDATE "consent_ledger" SET "ip" = NULL',
        "LEFT JOIN public.suppressions s ON true",
        "INSERT INTO\n  contact_subscriptions (workspace_id) VALUES ($1)",
    ],
)
def test_the_guard_spots_sql_on_a_consent_table(line: str) -> None:
    assert STATEMENT_ON_TABLE.search(line)


@pytest.mark.parametrize(
    "line",
    [
        "# Strongest first: what a suppression row says about the address.",
        "subscriptions = await store.subscriptions(claims.workspace_id, claims.contact_id)",
        'KEPT_BLANKED = {"consent_ledger": consent.blank_ledger_proof}',
        "NEVER_ERASED = {'suppressions'}",
    ],
)
def test_the_guard_leaves_prose_and_names_alone(line: str) -> None:
    assert not STATEMENT_ON_TABLE.search(line)

"""The shape of the house, kept true: which room may import which.

Read from the source with `ast` (every import, also those inside functions), so a move that breaks a
rule fails here before anyone has to notice it in review.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("ingest", "scheduler", "sender", "tracker")
# Libraries and shared modules that do I/O: a `domain/` module decides, it never reaches out.
# (`shared.kafka.codec` is pure: record bytes and headers, no connection.)
IO_MODULES = (
    "aiokafka",
    "aiosmtplib",
    "asyncpg",
    "fastapi",
    "httpx",
    "socket",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "shared.db",
    "shared.http",
    "shared.kafka.admin",
    "shared.kafka.client",
    "shared.kafka.consumer",
    "shared.kafka.producer",
    "shared.outbox",
    "shared.serve",
    "shared.service",
)
# The rooms of a service that talk to the world or run it; a `domain/` module imports none of them.
OUTER_ROOMS = ("adapters", "api", "app", "unit_of_work", "usecases", "workers")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _sources(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _is(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _broken(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in paths
        for line, module in imports_of(path)
        if any(_is(module, prefix) for prefix in forbidden)
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"services.{other}" for other in SERVICES if other != service)
    assert _broken(_sources(f"services/{service}"), others) == []


def test_shared_imports_no_service() -> None:
    assert _broken(_sources("shared"), ("services", "dripline", "bench")) == []


@pytest.mark.parametrize("service", SERVICES)
def test_domain_does_no_io_and_imports_no_outer_room(service: str) -> None:
    domains = [path for path in _sources(f"services/{service}") if "domain" in path.relative_to(ROOT).parts]
    outer = tuple(f"services.{service}.{room}" for room in OUTER_ROOMS)
    analytics_outer = tuple(f"services.scheduler.analytics.{room}" for room in OUTER_ROOMS)
    assert domains, f"services/{service} has no domain/ modules"
    assert _broken(domains, IO_MODULES + outer + analytics_outer) == []


@pytest.mark.parametrize("service", SERVICES)
def test_adapters_import_no_room_that_calls_them(service: str) -> None:
    """Data flows one way: api and workers call use cases, which call adapters; never back up."""
    adapters = _sources(f"services/{service}/adapters")
    upward = tuple(f"services.{service}.{room}" for room in ("api", "app", "usecases", "workers"))
    assert _broken(adapters, upward) == []


def test_analytics_depends_on_the_scheduler_one_way() -> None:
    """Only the scheduler's wiring (app, api) reaches into analytics; its engine and loops never do."""
    core = [
        path
        for path in _sources("services/scheduler")
        if not {"analytics", "api"} & set(path.relative_to(ROOT).parts) and path.name != "app.py"
    ]
    assert _broken(core, ("services.scheduler.analytics",)) == []


def test_the_rules_see_a_violation() -> None:
    """The checker itself: a planted cross-service import is found."""
    sample = ROOT / "services" / "tracker" / "app.py"
    assert any(_is(module, "services.tracker") for _, module in imports_of(sample))
    assert _broken([sample], ("services.tracker",)) != []


# A statement in a string: a keyword that starts SQL, then what it works on.
_SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE | re.DOTALL)


def _statements_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.search(node.value)
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_no_sql_in_api_modules(service: str) -> None:
    """HTTP and page code asks adapters; the statements live where every one against a table can be read."""
    api = _sources(f"services/{service}/api")
    assert [found for path in api for found in _statements_in(path)] == []


def test_the_sql_rule_sees_a_statement() -> None:
    sample = ROOT / "services" / "scheduler" / "adapters" / "enrollments.py"
    assert _statements_in(sample) != []

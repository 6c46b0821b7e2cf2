"""A bounded, repeatable fuzz of a running service's OpenAPI document: no request may get a 5xx.

Schemathesis turns each operation into requests that fit the schema (positive) and that break it
(negative). The examples per operation are few and the seed is fixed (`derandomize`), so a run takes
seconds in CI and a failure shows up again on the next run. Hypothesis blocks while it runs, so
the fuzz goes in a thread and the service keeps serving in the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisDeprecationWarning, Unsatisfiable
from schemathesis import GenerationMode

# Bodies that are mail (the tracker's bounce reports) go as text, as Schemathesis sends text/plain.
schemathesis.serializer.alias("message/rfc822", "text/plain")


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)

    def count(self, status: int) -> None:
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def fuzz_openapi(
    base_url: str, headers: dict[str, str], *, examples: int = 20, skip: frozenset[str] = frozenset()
) -> FuzzReport:
    """Every operation of the service's /openapi.json, `examples` positive and `examples` negative cases each.

    `skip` names operations (`"DELETE /v1/x/{id}"`) that must not be fuzzed, e.g. ones that stop the service.
    """
    async with httpx.AsyncClient(base_url=base_url) as client:
        spec = (await client.get("/openapi.json")).raise_for_status().json()
    return await asyncio.to_thread(_fuzz, spec, base_url, headers, examples, skip)


def _fuzz(
    spec: dict[str, Any], base_url: str, headers: dict[str, str], examples: int, skip: frozenset[str]
) -> FuzzReport:
    schema = schemathesis.openapi.from_dict(spec)
    report = FuzzReport()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if f"{operation.method.upper()} {operation.path}" in skip:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz_operation(operation, mode, session, base_url, headers, examples, report)
    return report


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    session: requests.Session,
    base_url: str,
    headers: dict[str, str],
    examples: int,
    report: FuzzReport,
) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a 5xx is reported as generated
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeEncodeError):
            return  # the client library will not send it (a header or URL no HTTP request can carry)
        report.count(response.status_code)
        if response.status_code >= 500:
            body = response.text[:300]
            sent = repr(case.body)[:300] if case.body is not None else ""
            report.server_errors.append(
                f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code} {body}; sent {sent}"
            )

    # Unsatisfiable: nothing to break (a negative case for an operation without parameters or body).
    # Schemathesis draws from `random` for some schemas, which Hypothesis flags as deprecated: not ours to fix.
    with contextlib.suppress(Unsatisfiable), warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        run()

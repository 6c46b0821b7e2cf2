"""Sender: requested messages rendered and accepted by the local SMTP inbox."""

from __future__ import annotations

from bench.harness import StageResult
from bench.sizes import BenchContext


async def run(ctx: BenchContext) -> StageResult:
    ctx.progress.done(3)
    return StageResult("sender", "Sender", not_measured="not built yet")

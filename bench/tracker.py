"""Tracker: open-pixel and click hits against a bare ASGI app answering the same GIF and redirect."""

from __future__ import annotations

import time
from dataclasses import replace

from bench.baselines import CLICK_TARGET
from bench.harness import Figure, Role, StageResult, Target
from bench.loadgen import LoadSpec
from bench.processes import ServiceProcess, run_load
from bench.render import verify_rate
from bench.sizes import BenchContext
from bench.stack import SIGNING_KEYS, WORKSPACE
from shared.tokens import TokenClaims, TokenKind, key_ring_from_setting

MESSAGES = 2_000


def tracked_paths(kind: TokenKind) -> list[str]:
    """Links as the sender signs them into messages: one per message, the bench's key ring."""
    keys = key_ring_from_setting(SIGNING_KEYS)
    issued = int(time.time()) - 3600  # delivered an hour ago: clicks are not judged a scanner's burst
    code = "o" if kind is TokenKind.OPEN else "c"
    url = CLICK_TARGET if kind is TokenKind.CLICK else None
    return [
        f"/{code}/" + keys.sign(TokenClaims(kind, f"msg-{n}", WORKSPACE, f"contact-{n}", issued, "flow", "s1", url))
        for n in range(MESSAGES)
    ]


HUMAN = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1"}


async def run(ctx: BenchContext) -> StageResult:
    result = StageResult("tracker", "Tracker", headline=("dripline-open", "bare-open"))
    sizes = ctx.sizes
    servers = {
        "dripline": ServiceProcess.module("tracker", "services.tracker", ctx.stack.service_env(tracker_port="{port}")),
        "bare": ServiceProcess.module("bare-tracker", "bench.serve", {}, "bare-tracker", "{port}", health_path=None),
    }
    for who, server in servers.items():
        with server:
            for kind in (TokenKind.OPEN, TokenKind.CLICK):
                label = f"{who}-{kind.value}"
                ctx.progress.step(label)
                spec = LoadSpec.build(server.port, method="GET", paths=tracked_paths(kind), headers=HUMAN)
                spec = replace(spec, connections=sizes.connections, duration=sizes.load_seconds)
                await run_load(replace(spec, total=sizes.warmup_requests))
                spec = replace(spec, total=sizes.tracker_hits)
                load = await run_load(spec)
                role: Role = "dripline" if who == "dripline" else "baseline"
                result.figures.append(load.figure(label, role, "hits/s"))
                ctx.progress.done()
        for figure in result.figures:
            if figure.name.startswith(who):
                figure.peak_rss_mib = server.peak_rss_mib
    ctx.progress.step("token verify rate")
    verified = verify_rate(sizes.micro_seconds)
    result.figures.append(
        Figure(
            "token-verify",
            "dripline",
            int(verified * sizes.micro_seconds),
            sizes.micro_seconds,
            "tokens/s",
            note="in-process, one core",
        )
    )
    ctx.progress.done()
    opened = result.figure("dripline-open")
    result.targets = [
        Target("open hits/s", opened.rate if opened else None, 20_000, unit="hits/s"),
        Target("open p99", opened.latency.p99 if opened and opened.latency else None, 10.0, False, "ms"),
        Target("open / bare ASGI", result.headline_ratio, 0.4),
        Target("click / bare ASGI", result.ratio("dripline-click", "bare-click"), 0.4),
    ]
    result.notes.append(
        f"{sizes.connections} keep-alive connections, closed loop, {sizes.tracker_hits:,} hits per run, "
        f"{MESSAGES:,} distinct signed links, a desktop browser's User-Agent."
    )
    return result

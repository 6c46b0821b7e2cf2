"""results.json is the record; RESULTS.md and the README section are generated from it, never typed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.bottlenecks import bottleneck_lines
from bench.harness import StageResult
from bench.scaleout import POSTGRES, PROCESS_COUNTS, SCALED_STAGES, ScaledStage, cpu_key, figure_name

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def merge(
    previous: dict[str, Any] | None, results: list[StageResult], about: dict[str, Any], order: Sequence[str]
) -> dict[str, Any]:
    """Stages run now replace their earlier entries; stages not run keep theirs (with their own date).

    A `--large` run is kept beside the default one, under `<stage>@large`, after it: it answers another
    question (does the cost per unit hold at ten times the data), not a newer answer to the same one."""
    stages = {stage["name"]: stage for stage in (previous or {}).get("stages", [])}
    for result in results:
        entry = {**result.as_json(), "sizes": about["sizes"], "measured_at": about["started_at"]}
        if about["sizes"] == "large":
            entry |= {"name": f"{result.name}@large", "title": f"{result.title}, preset large"}
        stages[entry["name"]] = entry

    def position(stage: dict[str, Any]) -> tuple[int, bool]:
        base = stage["name"].removesuffix("@large")
        return (order.index(base) if base in order else len(order), base != stage["name"])

    ordered = sorted(stages.values(), key=position)
    return {**about, "stages": ordered}


def _rate(figure: dict[str, Any]) -> str:
    return f"{figure['rate']:,.0f} {figure['unit']}"


def _latency(figure: dict[str, Any]) -> str:
    latency = figure.get("latency")
    return f"p50 {latency['p50']:.1f} / p99 {latency['p99']:.1f} ms" if latency else ""


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _judged(value: float, goal: float, higher_is_better: bool, met: bool | None) -> str:
    """The value as `_number` writes it, with more decimals where rounding would show a miss as a hit
    (0.6966 against ≥ 0.7 reads 0.697, not 0.70)."""
    text = _number(value)
    for decimals in (3, 4):
        shown = float(text.replace(",", ""))
        if met is None or (shown >= goal if higher_is_better else shown < goal) == met:
            break
        text = f"{value:,.{decimals}f}"
    return text


def _target(target: dict[str, Any]) -> str:
    mark = {True: "✅", False: "❌", None: "–"}[target["met"]]
    sign = "≥" if target["higher_is_better"] else "<"
    value = target["value"]
    shown = "n/a" if value is None else _judged(value, target["goal"], target["higher_is_better"], target["met"])
    return f"{mark} {target['label']} {sign} {target['goal']:,g}{target['unit'] and ' ' + target['unit']}: {shown}"


def _figure(stage: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    return next((f for f in stage["figures"] if f["name"] == name), None)


def summary_table(data: dict[str, Any]) -> str:
    lines = ["| stage | Dripline | baseline | ratio | targets |", "| --- | --- | --- | --- | --- |"]
    for stage in data["stages"]:
        if stage["not_measured"]:
            lines.append(f"| {stage['title']} | not measured: {stage['not_measured']} | | | |")
            continue
        ours, theirs = (stage["headline"] or [None, None])[:2]
        if ours is None:
            ours = next((f["name"] for f in stage["figures"] if f["role"] == "dripline"), None)
        mine, base = _figure(stage, ours), _figure(stage, theirs)
        cell = f"{_rate(mine)}, {_latency(mine)}" if mine else f"not measured: {stage.get('missing') or 'no figure'}"
        base_cell = f"{_rate(base)} ({base['name']})" if base else "—"
        ratio = f"{stage['ratio']:.2f}" if stage["ratio"] is not None else "—"
        targets = "<br>".join(_target(t) for t in stage["targets"])
        lines.append(f"| {stage['title']} | {cell} | {base_cell} | {ratio} | {targets} |")
    return "\n".join(lines)


def stage_section(stage: dict[str, Any]) -> str:
    lines = [f"## {stage['title']}", "", f"Preset `{stage.get('sizes')}`, measured {stage.get('measured_at')}.", ""]
    if stage["not_measured"]:
        return "\n".join([*lines, f"Not measured: {stage['not_measured']}", ""])
    lines += [
        "| implementation | role | rate | p50 ms | p95 ms | p99 ms | errors | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in stage["figures"]:
        lat = f["latency"] or {}
        ms = [f"{lat[k]:.1f}" if k in lat else "" for k in ("p50", "p95", "p99")]
        rss = f"{f['peak_rss_mib']:.0f}" if f["peak_rss_mib"] else ""
        name = f"{f['name']} ({f['note']})" if f["note"] else f["name"]
        lines.append(f"| {name} | {f['role']} | {_rate(f)} | {' | '.join(ms)} | {f['errors']} | {rss} |")
    lines.append("")
    if stage.get("missing"):
        lines.append(f"- Not measured: {stage['missing']}")
    lines += [f"- {_target(t)}" for t in stage["targets"]]
    lines += [f"- {key.replace('_', ' ')}: {value:,.1f}" for key, value in stage["extra"].items()]
    lines += [f"- {note}" for note in stage["notes"]]
    missed = any(t["met"] is False for t in stage["targets"]) or not stage["targets"]
    if missed:
        lines += bottleneck_lines(stage["name"])
    return "\n".join([*lines, ""])


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    head = [
        "# Benchmark results",
        "",
        f"Generated by `make bench` from `bench/results.json` (last run {data['started_at']}, preset "
        f"`{data['sizes']}`) on {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}; load average at "
        f"start {m['load_average_at_start']}. Absolute figures move with the machine's load; every Dripline figure "
        "is paired with a baseline measured in the same run, and their ratio is the headline.",
        "",
        summary_table(data),
        *light_load_lines(data),
        "",
        *scale_out_lines(data),
    ]
    return "\n".join(head + [stage_section(stage) for stage in data["stages"]])


def _scaled_cells(stage: dict[str, Any] | None, scaled: ScaledStage, processes: int) -> list[str]:
    """Rate, factor against one process, and CPU ms per unit (the service's processes + PostgreSQL)."""
    figure = _figure(stage, figure_name(processes)) if stage else None
    if figure is None:
        return ["", "", ""]
    one = _figure(stage, figure_name(1)) if stage else None
    factor = f"{figure['rate'] / one['rate']:.2f}" if one and one["rate"] else ""
    extra = stage["extra"] if stage else {}
    service, postgres = (extra.get(cpu_key(scaled, processes, program)) for program in (scaled.program, POSTGRES))
    cpu = f"{service:.2f} + {postgres:.2f}" if service is not None and postgres is not None else ""
    return [f"{figure['rate']:,.0f}", factor, cpu]


def scale_out_table(data: dict[str, Any]) -> str:
    """Processes → fires/s and emails/s, each with its factor over one process and its CPU per unit;
    empty when neither stage measured more than one process."""
    stages = {stage["name"]: stage for stage in data["stages"] if not stage["not_measured"]}
    found = [(scaled, stages.get(scaled.stage)) for scaled in SCALED_STAGES]
    counts = [n for n in PROCESS_COUNTS if any(stage and _figure(stage, figure_name(n)) for _, stage in found)]
    if not any(n > 1 for n in counts):
        return ""
    heads = [f"{s.column} | factor | CPU ms per {s.unit} ({s.program} + PostgreSQL)" for s, _ in found]
    lines = [f"| processes | {' | '.join(heads)} |", "|" + " --- |" * (1 + 3 * len(found))]
    for n in counts:
        cells = [cell for scaled, stage in found for cell in _scaled_cells(stage, scaled, n)]
        lines.append(f"| {n} | {' | '.join(cells)} |")
    return "\n".join(lines)


def scale_out_lines(data: dict[str, Any]) -> list[str]:
    table = scale_out_table(data)
    if not table:
        return []
    return [
        "## Scale-out",
        "",
        "The timer and sender stages drained by 1, 2 and 4 processes of the service on the same machine "
        "(factor = rate ÷ the rate of one process; CPU per unit summed over the service's processes). "
        f"With {data['machine']['cpus']} CPUs shared by the processes, PostgreSQL, the broker and the SMTP sink, "
        "more processes than cores cannot scale linearly: how to read the factor is in "
        "[docs/benchmarks.md](../docs/benchmarks.md#scale-out-measured).",
        "",
        table,
        "",
    ]


def light_load_lines(data: dict[str, Any]) -> list[str]:
    """Latency when nothing queues, under the table: end to end at its lightest rate, and timers at
    the rate one scheduler process keeps up with."""
    lines = []
    for stage_name, prefix, label in (
        ("e2e", "dripline-", "End to end with nothing queued"),
        ("scheduler-timers", "dripline-steady-", "Timers when one process keeps up"),
    ):
        stage = next((stage for stage in data["stages"] if stage["name"] == stage_name), None)
        light = next((f for f in stage["figures"] if f["name"].startswith(prefix)), None) if stage else None
        if light is not None and light.get("latency"):
            lines.append(f"{label} ({light['note']}): {_latency(light)}.")
    return ["", "\n\n".join(lines)] if lines else []


def readme_section(data: dict[str, Any]) -> str:
    return "\n".join(
        [
            BEGIN,
            f"Measured by `make bench` (preset `{data['sizes']}`, {data['machine']['cpus']} CPUs, "
            f"{data['started_at']}); "
            "each figure is paired with a baseline from the same run. Details: [bench/RESULTS.md](bench/RESULTS.md), "
            "method: [docs/benchmarks.md](docs/benchmarks.md).",
            "",
            summary_table(data),
            *light_load_lines(data),
            END,
        ]
    )


def update_readme(readme: Path, data: dict[str, Any]) -> bool:
    text = readme.read_text()
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"{readme} has no {BEGIN} … {END} section")
    updated = text[:start] + readme_section(data) + text[stop + len(END) :]
    if updated != text:
        readme.write_text(updated)
    return updated != text


def write_reports(
    results: list[StageResult], about: dict[str, Any], out_dir: Path, readme: Path | None, order: Sequence[str]
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    previous = json.loads(path.read_text()) if path.exists() else None
    data = merge(previous, results, about, order)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "RESULTS.md").write_text(markdown(data))
    if readme is not None:
        update_readme(readme, data)
    return data

"""`python -m bench.profile STAGE [--quick] [--top DIR]`: run one stage with py-spy on every service it starts.

Flame graphs land in `bench/profiles/<stage>-<service>.svg`; they show where a stage that misses
its target spends its time. Profiling costs a little CPU, so figures from these runs are not reported.
With `--top DIR` the stacks go to DIR instead and the functions that take the most samples
(their own and including callees) are printed per service.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import uvloop

from bench.processes import Profiler
from bench.runner import STAGE_NAMES, choose_sizes, run_stages

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "bench" / "profiles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=STAGE_NAMES)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top", type=Path, help="write collapsed stacks here and print the busiest functions")
    arguments = parser.parse_args()
    directory = arguments.top or PROFILES
    directory.mkdir(parents=True, exist_ok=True)
    Profiler.directory, Profiler.label = directory, arguments.stage
    Profiler.format = "raw" if arguments.top else "flamegraph"
    for old in directory.glob(f"{arguments.stage}-*.{'txt' if arguments.top else 'svg'}"):
        old.unlink()
    uvloop.run(run_stages([arguments.stage], choose_sizes(large=False, quick=arguments.quick)))
    for written in directory.glob(f"{arguments.stage}-*.*"):
        scrub(written)
    if arguments.top:
        for stacks in sorted(directory.glob(f"{arguments.stage}-*.txt")):
            sys.stdout.write(f"\n== {stacks.stem}\n{top_functions(stacks.read_text())}\n")


def scrub(profile: Path) -> None:
    """Paths relative to the repository: py-spy writes the command lines it recorded in full."""
    text = profile.read_text()
    cleaned = text.replace(f"{ROOT}/", "")
    if cleaned != text:
        profile.write_text(cleaned)


def top_functions(collapsed: str, count: int = 25) -> str:
    """The functions with the most samples in py-spy's collapsed stacks: own samples, and with callees."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, weight = line.rpartition(" ")
        if not stack or not weight.isdigit():
            continue
        frames = stack.split(";")
        samples += int(weight)
        own[frames[-1]] += int(weight)
        for frame in set(frames):
            total[frame] += int(weight)
    rows = [f"{samples} samples", "own%  total%  function"]
    for frame, n in own.most_common(count):
        rows.append(f"{100 * n / samples:4.1f}  {100 * total[frame] / samples:5.1f}   {frame}")
    rows.append("-- including callees")
    for frame, n in total.most_common(count):
        rows.append(f"{100 * n / samples:5.1f}   {frame}")
    return "\n".join(rows)


if __name__ == "__main__":
    main()

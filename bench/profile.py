"""`python -m bench.profile STAGE [--quick]`: run one stage with py-spy on every service it starts.

Flame graphs land in `bench/profiles/<stage>-<service>.svg`; they show where a stage that misses
its target spends its time. Profiling costs a little CPU, so figures from these runs are not reported.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvloop

from bench.processes import Profiler
from bench.runner import STAGE_NAMES, choose_sizes, run_stages

PROFILES = Path(__file__).parent / "profiles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=STAGE_NAMES)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    PROFILES.mkdir(exist_ok=True)
    Profiler.directory, Profiler.label = PROFILES, arguments.stage
    for old in PROFILES.glob(f"{arguments.stage}-*.svg"):
        old.unlink()
    uvloop.run(run_stages([arguments.stage], choose_sizes(large=False, quick=arguments.quick)))


if __name__ == "__main__":
    main()

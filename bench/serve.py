"""`python -m bench.serve NAME PORT`: serve a baseline app the way the services are served."""

from __future__ import annotations

import sys

import uvicorn

from bench.baselines import APPS


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(
        APPS[name](),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        log_level="warning",
        lifespan="off",
    )


if __name__ == "__main__":
    main()

"""The profile summary counts a function's own samples and those of everything it calls."""

from __future__ import annotations

from pathlib import Path

from bench.profile import ROOT, scrub, top_functions

STACKS = """\
main (app.py:1);handle (app.py:5);render (mail.py:9) 6
main (app.py:1);handle (app.py:5) 2
main (app.py:1);idle (loop.py:3) 2
"""


def test_own_and_total_shares() -> None:
    summary = top_functions(STACKS).splitlines()
    assert summary[0] == "10 samples"
    assert "60.0   60.0   render (mail.py:9)" in [line.strip() for line in summary]
    assert "20.0   80.0   handle (app.py:5)" in [line.strip() for line in summary]
    assert "100.0   main (app.py:1)" in [line.strip() for line in summary]


def test_profiles_name_files_relative_to_the_repository(tmp_path: Path) -> None:
    profile = tmp_path / "stage-service.svg"
    profile.write_text(f"<title>{ROOT}/.venv/bin/py-spy record -o {ROOT}/bench/profiles/x.svg</title>")
    scrub(profile)
    assert profile.read_text() == "<title>.venv/bin/py-spy record -o bench/profiles/x.svg</title>"

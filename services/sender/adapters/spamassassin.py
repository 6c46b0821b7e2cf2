"""Score messages with the local SpamAssassin, offline (`spamassassin -L -t`): the rules its package ships.

All messages go through one run as an mbox: a run costs seconds of rule loading, a message milliseconds.
"""

from __future__ import annotations

import mailbox
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from email import message_from_bytes, policy
from pathlib import Path

from services.sender.domain.spam_report import SpamScore, parse_reports

__all__ = ["SpamAssassinMissing", "spamassassin_path", "score_messages"]


class SpamAssassinMissing(RuntimeError):
    """The `spamassassin` command is not installed, or it did not score what it was given."""


def spamassassin_path() -> str | None:
    return shutil.which("spamassassin")


def score_messages(messages: Sequence[bytes], *, timeout: float = 600.0) -> list[SpamScore]:
    """One score per message, in order (each message needs its own Message-ID). `SpamAssassinMissing` when the
    command is absent or misbehaves."""
    if not messages:
        return []
    command = spamassassin_path()
    if command is None:
        raise SpamAssassinMissing("spamassassin is not installed (Debian: apt-get install spamassassin)")
    parsed = [message_from_bytes(data, policy=policy.compat32) for data in messages]
    ids = [str(message["Message-ID"] or "").strip() for message in parsed]
    if len(set(ids)) != len(ids) or "" in ids:
        raise ValueError("each message scored together needs its own Message-ID")
    with tempfile.TemporaryDirectory(prefix="dripline-spam-") as folder:
        path = Path(folder) / "messages.mbox"
        box = mailbox.mbox(path)
        for message in parsed:
            box.add(mailbox.mboxMessage(message))
        box.flush()
        box.close()
        with path.open("rb") as stream:
            done = subprocess.run(  # noqa: S603 - a fixed command on a file we wrote
                [command, "-L", "-t", "--mbox"], stdin=stream, capture_output=True, timeout=timeout, check=False
            )
    found = {score.message_id: score for score in parse_reports(done.stdout.decode(errors="replace"))}
    if done.returncode != 0 or not found.keys() >= set(ids):
        reason = done.stderr.decode(errors="replace").strip()[-500:]
        raise SpamAssassinMissing(f"spamassassin scored {len(found)} of {len(messages)} messages: {reason}")
    return [found[message_id] for message_id in ids]

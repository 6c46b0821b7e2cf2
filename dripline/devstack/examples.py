"""The example flows as the local stack publishes them: `notify` steps post to the dev inbox, and every
subscription topic they use exists in the demo workspace with a name people read."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

# A notify step's target, as the examples write it: `url: https://crm.example.com/hooks/call-list`.
_NOTIFY_URL = re.compile(
    r"""^(?P<lead>[ \t]+url:[ \t]*)(?P<quote>["']?)https?://(?P<target>[^\s"']+)(?P=quote)[ \t]*$""", re.M
)
TOPIC_NAMES = {
    "newsletter": "Newsletter",
    "shop-offers": "Offers and reminders from the shop",
    "b2b-insights": "Insights for business customers",
}


def local_flow(source: str, inbox_url: str) -> str:
    """The flow with each webhook pointed at the inbox's receiver, which keeps the original address in its path
    (`{inbox}/webhooks/crm.example.com/hooks/call-list`); comments and layout stay as written."""
    return _NOTIFY_URL.sub(lambda found: f"{found['lead']}{inbox_url}/webhooks/{found['target']}", source)


def write_local_flows(examples: Path, inbox_url: str, out: Path) -> Path:
    """The example flows rewritten for the local stack into `out` (replaced each start); returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.yaml"):
        stale.unlink()
    for flow in sorted(examples.glob("*.yaml")):
        (out / flow.name).write_text(local_flow(flow.read_text(encoding="utf-8"), inbox_url), encoding="utf-8")
    return out


def flow_topics(examples: Path) -> dict[str, str]:
    """Every subscription topic the example flows use, with the name the preferences page shows."""
    topics = set()
    for flow in examples.glob("*.yaml"):
        topic = (yaml.safe_load(flow.read_text(encoding="utf-8")) or {}).get("topic")
        if isinstance(topic, str):
            topics.add(topic)
    return {topic: TOPIC_NAMES.get(topic, topic) for topic in sorted(topics)}

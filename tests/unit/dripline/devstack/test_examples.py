"""The example flows as `make run` publishes them: webhooks to the dev inbox, every topic they use named."""

from __future__ import annotations

from pathlib import Path

import yaml

from dripline.devstack.examples import flow_topics, local_flow, write_local_flows

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "flows"
INBOX = "http://127.0.0.1:8025"


def test_notify_steps_post_to_the_inbox_which_keeps_the_original_address() -> None:
    source = (EXAMPLES / "web-conversion.yaml").read_text()
    local = local_flow(source, INBOX)
    steps = {step["id"]: step for step in yaml.safe_load(local)["steps"]}
    assert steps["tell-sales"]["url"] == f"{INBOX}/webhooks/crm.example.com/hooks/call-list"
    assert steps["tell-sales"]["payload"] == yaml.safe_load(source)["steps"][5]["payload"]
    assert local.splitlines()[0] == source.splitlines()[0]  # comments stay
    assert (
        local_flow("    url: 'https://hooks.example/a?x=1'\n", INBOX)
        == f"    url: {INBOX}/webhooks/hooks.example/a?x=1\n"
    )


def test_every_example_flow_is_written_and_no_webhook_leaves_the_machine(tmp_path: Path) -> None:
    out = write_local_flows(EXAMPLES, INBOX, tmp_path / "flows")
    written = sorted(path.name for path in out.glob("*.yaml"))
    assert written == sorted(path.name for path in EXAMPLES.glob("*.yaml"))
    urls = [step["url"] for path in out.glob("*.yaml") for step in yaml.safe_load(path.read_text())["steps"]
            if step["type"] == "notify"]  # fmt: skip
    assert len(urls) == 2 and all(url.startswith(f"{INBOX}/webhooks/") for url in urls)


def test_the_demo_workspace_offers_every_topic_the_example_flows_use() -> None:
    assert flow_topics(EXAMPLES) == {
        "b2b-insights": "Insights for business customers",
        "newsletter": "Newsletter",
        "shop-offers": "Offers and reminders from the shop",
    }

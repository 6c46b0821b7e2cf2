"""The README's settings table, generated from shared/settings.py so it cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic.fields import FieldInfo

from shared.settings import (
    CommonSettings,
    DevStackSettings,
    IngestSettings,
    SchedulerSettings,
    SenderSettings,
    TrackerSettings,
)

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"
SECTIONS = {
    "all services": CommonSettings,
    "ingest": IngestSettings,
    "scheduler": SchedulerSettings,
    "sender": SenderSettings,
    "tracker": TrackerSettings,
    "local stack": DevStackSettings,
}


def env_name(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[0])
    return f"DRIPLINE_{name.upper()}"


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return ""
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    return f"`{value}`"


def render_table() -> str:
    rows = ["| variable | used by | default | meaning |", "|---|---|---|---|"]
    seen: set[str] = set()
    for section, settings_class in SECTIONS.items():
        for name, field in settings_class.model_fields.items():
            if name in seen:
                continue
            seen.add(name)
            meaning = (field.description or "").replace("|", "\\|")
            rows.append(f"| `{env_name(name, field)}` | {section} | {_default(field)} | {meaning} |")
    return "\n".join(rows)


def updated_readme(text: str) -> str:
    block = f"{BEGIN}\n{render_table()}\n{END}"
    return re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)


def write_readme_table() -> bool:
    text = README.read_text()
    new = updated_readme(text)
    if new != text:
        README.write_text(new)
    return new != text

"""From a stored template and a contact to rendered parts and message bytes, with the settings' sender."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from liquid.exceptions import LiquidError

from services.sender.domain.compile import TemplateCache
from services.sender.domain.compliance import Consent, Sender
from services.sender.domain.errors import RenderError
from services.sender.domain.mime import DkimKey, build_message
from services.sender.domain.render import Outgoing, RenderedMessage, render_message
from services.sender.domain.template import Template
from shared.errors import ConfigurationError
from shared.settings import SenderSettings
from shared.tokens import KeyRing, key_ring_from_setting


def key_ring(spec: str) -> KeyRing:
    """The tracker verifies what this ring signs: both read the shared `link_signing_keys` setting."""
    try:
        return key_ring_from_setting(spec)
    except ValueError as error:
        raise ConfigurationError(f"link signing keys: {error}") from error


@dataclass(frozen=True)
class Letter:
    """What a template makes for one reader: the rendered parts, and where they go."""

    rendered: RenderedMessage
    to: str


class MailComposer:
    """Renders with the domain and assembles bytes; one per process, so templates compile once per version."""

    def __init__(self, settings: SenderSettings, cache: TemplateCache | None = None) -> None:
        self._settings = settings
        self._cache = cache or TemplateCache()
        self.keys = key_ring(settings.link_signing_keys.get_secret_value())
        self.tracker_url = settings.tracker_public_url
        name, address = parseaddr(settings.mail_from)
        if "@" not in address:
            raise ConfigurationError(f"mail_from has no address: {settings.mail_from!r}")
        self.from_name, self.from_address = name, address
        self.sending_domain = settings.sending_domain or address.rpartition("@")[2]
        self._dkim = self._dkim_key(settings)

    def _dkim_key(self, settings: SenderSettings) -> DkimKey | None:
        if settings.dkim_private_key is None:
            return None
        domain = settings.dkim_domain or self.sending_domain
        return DkimKey(domain, settings.dkim_selector, settings.dkim_private_key.get_secret_value().encode())

    def sender(self, workspace_id: str) -> Sender:
        return Sender(
            name=self.from_name or workspace_id,
            address=self.from_address,
            postal_address=self._settings.postal_address,
            sending_domain=self.sending_domain,
            tracker_url=self._settings.tracker_public_url,
            list_id=f"{workspace_id}.{self.sending_domain}",
        )

    def render(
        self,
        template: Template,
        *,
        message_id: str,
        workspace_id: str,
        contact_id: str,
        profile: Mapping[str, Any],
        variables: Mapping[str, Any],
        now: datetime,
        flow_id: str | None = None,
        step_id: str | None = None,
        consent: Consent | None = None,
    ) -> Letter:
        """`RenderError` when the template cannot be rendered for this reader."""
        to = str(profile.get("email") or "")
        scope = {"contact": dict(profile), "workspace": {"id": workspace_id}, **variables}
        out = Outgoing(
            message_id=message_id,
            workspace_id=workspace_id,
            contact_id=contact_id,
            to=to,
            issued_at=int(now.timestamp()),
            variables=scope,
            locale=profile.get("locale"),
            time_zone=str(profile.get("timezone") or "UTC"),
            flow_id=flow_id,
            step_id=step_id,
            consent=consent,
        )
        compiled = self._cache.get(template)
        return Letter(render_message(compiled, out, self.sender(workspace_id), self.keys), to)

    def text_message(self, template: Template, scope: Mapping[str, Any]) -> str:
        """A text message from the template's `text` (or subject): no HTML, footer or tracking."""
        compiled = self._cache.get(template)
        bound = compiled.text if compiled.text is not None else compiled.subject
        try:
            return " ".join(bound.render(**scope).split()) if compiled.text is None else bound.render(**scope).strip()
        except (LiquidError, ValueError, TypeError, LookupError) as error:
            raise RenderError(template.id, "text", str(error)) from error

    def message_bytes(self, letter: Letter, *, message_id: str, now: datetime) -> bytes:
        return build_message(
            letter.rendered,
            from_name=self.from_name,
            from_address=self.from_address,
            to=letter.to,
            message_id=message_id,
            sending_domain=self.sending_domain,
            now=now,
            dkim_key=self._dkim,
        )

"""From a stored template and a contact to rendered parts and message bytes, sent as the workspace's
identity (`sending_identities`) or, for a workspace without one, as the settings say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from liquid.exceptions import LiquidError

from services.sender.domain.mime import DkimKey, build_message
from services.sender.domain.rendering.compile import TemplateCache
from services.sender.domain.rendering.compliance import Consent, Sender
from services.sender.domain.rendering.errors import MissingData, RenderError
from services.sender.domain.rendering.liquid_env import MissingValueError
from services.sender.domain.rendering.render import Outgoing, RenderedMessage, render_message
from services.sender.domain.rendering.scope import message_scope
from services.sender.domain.rendering.template import Template
from shared.errors import ConfigurationError
from shared.sending_identities import SendingIdentity
from shared.settings import SenderSettings
from shared.tokens import key_ring_from_setting


@dataclass(frozen=True)
class Letter:
    """What a template makes for one reader: the rendered parts, and where they go."""

    rendered: RenderedMessage
    to: str
    identity: SendingIdentity | None = None  # who it is from; None: the settings' sender


class MailComposer:
    """Renders with the domain and assembles bytes; one per process, so templates compile once per version."""

    def __init__(self, settings: SenderSettings, cache: TemplateCache | None = None) -> None:
        self._settings = settings
        self._cache = cache if cache is not None else TemplateCache()  # an empty cache is falsy
        self.keys = key_ring_from_setting(settings.link_signing_keys)
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

    def sender(self, workspace_id: str, identity: SendingIdentity | None = None) -> Sender:
        if identity is None:
            return Sender(
                name=self.from_name or workspace_id,
                address=self.from_address,
                postal_address=self._settings.postal_address,
                sending_domain=self.sending_domain,
                tracker_url=self._settings.tracker_public_url,
                list_id=f"{workspace_id}.{self.sending_domain}",
            )
        # Links go through the workspace's own tracking domain (a CNAME to the tracker), over HTTPS.
        tracker = f"https://{identity.tracking_domain}" if identity.tracking_domain else self.tracker_url
        return Sender(
            name=identity.from_name or workspace_id,
            address=identity.from_address,
            postal_address=identity.postal_address or self._settings.postal_address,
            sending_domain=identity.sending_domain,
            tracker_url=tracker,
            list_id=f"{workspace_id}.{identity.sending_domain}",
        )

    def mail_from(self, letter: Letter) -> str:
        """The envelope sender (where bounces go): the From address of whoever the letter is from."""
        return letter.identity.from_address if letter.identity is not None else self.from_address

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
        broadcast_id: str | None = None,
        consent: Consent | None = None,
        context: Mapping[str, Any] | None = None,
        lenient: bool = False,
        identity: SendingIdentity | None = None,
        workspace_name: str | None = None,
    ) -> Letter:
        """`RenderError` when the template cannot be rendered for this reader (`MissingData` when a value it
        prints is missing); `lenient` prints missing values as empty text instead (previews, the link check)."""
        to = str(profile.get("email") or "")
        sender = self.sender(workspace_id, identity)
        scope = message_scope(
            contact_id=contact_id, profile=profile, workspace_id=workspace_id, sender=sender, context=context,
            variables=variables, workspace_name=workspace_name,
        )  # fmt: skip
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
            broadcast_id=broadcast_id,
            consent=consent,
        )
        compiled = self._cache.get(template, lenient=lenient)
        return Letter(render_message(compiled, out, sender, self.keys), to, identity)

    def text_message(self, template: Template, scope: Mapping[str, Any]) -> str:
        """A text message from the template's `text` (or subject): no HTML, footer or tracking."""
        compiled = self._cache.get(template)
        part, bound = ("text", compiled.text) if compiled.text is not None else ("subject", compiled.subject)
        try:
            return " ".join(bound.render(**scope).split()) if compiled.text is None else bound.render(**scope).strip()
        except MissingValueError as error:
            raise MissingData(template.id, part, error.variable) from error
        except (LiquidError, ValueError, TypeError, LookupError) as error:
            raise RenderError(template.id, part, str(error)) from error

    def message_bytes(self, letter: Letter, *, message_id: str, now: datetime) -> bytes:
        """The letter's bytes, signed with its workspace's DKIM key (or the settings' key, if any)."""
        identity = letter.identity
        name, address, domain, key = self.from_name, self.from_address, self.sending_domain, self._dkim
        headers: dict[str, str] = {}
        if identity is not None:
            name, address, domain = identity.from_name, identity.from_address, identity.sending_domain
            key = DkimKey(domain, identity.dkim_selector, identity.dkim_private_key)
            if identity.reply_to:
                headers["Reply-To"] = identity.reply_to
        return build_message(
            letter.rendered,
            from_name=name,
            from_address=address,
            to=letter.to,
            message_id=message_id,
            sending_domain=domain,
            now=now,
            extra_headers=headers,
            dkim_key=key,
        )

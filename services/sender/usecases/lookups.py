"""What a batch of requests needs from the database, read once for the whole batch: its readers,
its templates (parsed once per version), the suppressions of the readers' addresses, and who each
workspace sends as."""

from __future__ import annotations

import asyncio

import structlog

from services.sender.adapters.audience import AddressKey, Audience
from services.sender.adapters.templates import StoredTemplate, TemplateStore
from services.sender.domain.eligibility import address_of
from services.sender.domain.rendering.errors import TemplateError
from services.sender.domain.rendering.template import Template
from services.sender.usecases.channels.channel import ADDRESS_FIELDS, Fail, Languages, Lookups
from shared.contract.internal import MessageRequested
from shared.sending_identities import SendingIdentityStore
from shared.workspaces import default_locales

log = structlog.get_logger(__name__)


class BatchLookup:
    def __init__(self, audience: Audience, templates: TemplateStore, identities: SendingIdentityStore) -> None:
        self.audience, self.templates, self.identities = audience, templates, identities
        self._loaded: dict[tuple[str, str, int], Template] = {}
        self._languages = Languages()  # kept across batches, as the templates in `_loaded` are

    async def read(self, requests: list[MessageRequested]) -> Lookups:
        """Readers and templates of the whole batch, then the suppressions of their addresses."""
        contacts = list(dict.fromkeys((r.workspace_id, r.contact_id) for r in requests))
        wanted = list(dict.fromkeys((r.workspace_id, r.template_id) for r in requests if r.channel in ADDRESS_FIELDS))
        workspaces = {r.workspace_id for r in requests if r.channel == "email"}
        workspace_ids = sorted({r.workspace_id for r in requests})
        readers, stored, identities, names, locales = await asyncio.gather(
            self.audience.readers(contacts),
            self.templates.latest_many(wanted),
            self.identities.many(workspaces),
            self.audience.workspace_names(workspace_ids),
            default_locales(self.templates.pool, workspace_ids),
        )
        templates = {key: self._loaded_template(key, stored.get(key)) for key in wanted}
        addresses: list[AddressKey] = []
        for r in requests:
            kind = ADDRESS_FIELDS.get(r.channel)
            address = address_of(readers.get((r.workspace_id, r.contact_id)), kind) if kind else None
            if kind and address:
                addresses.append((r.workspace_id, kind, address))
        suppressions = await self.audience.suppression_scopes(list(dict.fromkeys(addresses)))
        return Lookups(readers, templates, suppressions, identities, names, locales, self._languages)

    def _loaded_template(self, key: tuple[str, str], stored: StoredTemplate | None) -> Template | Fail:
        if stored is None:
            return Fail(f"no template {key[1]!r}")
        cache_key = (key[0], stored.template_id, stored.version)
        loaded = self._loaded.get(cache_key)
        if loaded is None:
            try:
                loaded = stored.load()  # YAML parsing: once per template version, not per message
            except TemplateError as error:
                return Fail(str(error))
            except Exception as error:  # noqa: BLE001 - an unreadable template fails its messages, not the batch
                log.exception("template.load_crashed", template_id=stored.template_id, version=stored.version)
                return Fail(f"template {stored.template_id!r} cannot be loaded: {error!r}")
            if len(self._loaded) > 1024:
                self._loaded.clear()
            self._loaded[cache_key] = loaded
        return loaded

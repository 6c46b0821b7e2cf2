"""The template file format: ``<id>.yaml`` with a subject, preheader and an HTML or MJML body."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.sender.domain.rendering.errors import Problem, TemplateError
from services.sender.domain.rendering.locales import choose_locale, known_locale

__all__ = ["Category", "Template", "TemplateVariant", "Tracking", "load_template"]


class Category(StrEnum):
    """Marketing mail needs consent and an unsubscribe; transactional mail must arrive regardless."""

    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class Tracking(BaseModel):
    """Whether opens and clicks are tracked for messages from this template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opens: bool = True
    clicks: bool = True


class TemplateVariant(BaseModel):
    """The template in another language: the parts it gives replace the template's own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = Field(default=None, min_length=1)
    preheader: str | None = None
    html: str | None = None
    mjml: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _at_most_one_body(self) -> TemplateVariant:
        if self.html is not None and self.mjml is not None:
            raise ValueError("give at most one of 'html' or 'mjml'")
        return self


class Template(BaseModel):
    """One email template; ``html`` or ``mjml`` (exactly one) holds the Liquid body.

    ``locale`` names the language of its own fields; ``variants`` the same template in other languages
    (``nb``, ``sv``, ``da``, …), chosen by the reader's locale (``in_locale``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    category: Category
    subject: str = Field(min_length=1)
    preheader: str = Field(default="", description="The preview line inboxes show after the subject; optional.")
    html: str | None = None
    mjml: str | None = None
    text: str | None = None
    tracking: Tracking = Tracking()
    locale: str | None = None
    variants: dict[str, TemplateVariant] = Field(default_factory=dict)

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            Locale.parse(value.replace("-", "_"))
        except (UnknownLocaleError, ValueError) as err:
            raise ValueError(f"unknown locale {value!r}") from err
        return value

    @field_validator("variants")
    @classmethod
    def _known_variant_locales(cls, value: dict[str, TemplateVariant]) -> dict[str, TemplateVariant]:
        unknown = [key for key in value if not known_locale(key)]
        if unknown:
            raise ValueError(f"unknown locale {unknown[0]!r}")
        return value

    def in_locale(self, reader_locale: str | None, default: str | None = None) -> Template:
        """The template as a reader of `reader_locale` gets it: the variant their locale chain finds
        (`nb-NO` → `nb` → `no` → `default`, the workspace's default locale), else the template's own fields,
        which a reader of the template's own `locale` gets too. No variants left on it."""
        if not self.variants:
            return self
        own = [self.locale] if self.locale else []
        key = choose_locale(reader_locale, [*own, *self.variants], default)
        if key is None or key not in self.variants:
            return self.model_copy(update={"variants": {}})
        variant = self.variants[key]
        parts = {name: value for name, value in variant.model_dump().items() if value is not None}
        if variant.html is not None or variant.mjml is not None:
            parts = {"html": None, "mjml": None, **parts}
        return self.model_copy(update={**parts, "locale": key, "variants": {}})

    def each_language(self) -> list[Template]:
        """The template once per language it holds: its own fields first, then each variant."""
        return [self.in_locale(None), *(self.in_locale(key) for key in self.variants)]

    @model_validator(mode="after")
    def _one_body(self) -> Template:
        if (self.html is None) == (self.mjml is None):
            raise ValueError("give exactly one of 'html' or 'mjml'")
        return self

    @property
    def body_part(self) -> str:
        """Name of the part that holds the body, used in error messages."""
        return "mjml" if self.mjml is not None else "html"

    @property
    def body(self) -> str:
        return self.mjml if self.mjml is not None else (self.html or "")

    @property
    def version(self) -> str:
        """Content hash: a changed file is a new version, so caches never serve stale bodies."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]


def _problems(err: ValidationError) -> list[Problem]:
    problems = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "template"
        reason = str(item["msg"]).removeprefix("Value error, ")
        problems.append(Problem(where, reason))
    return problems


def load_template(yaml_text: str, *, filename: str | None = None) -> Template:
    """Parse a template file's text; raise ``TemplateError`` listing each bad field and why.

    The caller reads the file, so this stays free of I/O. When ``filename`` is given,
    the ``id`` must match its stem, so a file and the id used to send it cannot drift.
    """
    name = filename or "<string>"
    try:
        raw: Any = yaml.safe_load(yaml_text)
    except yaml.YAMLError as err:
        raise TemplateError(name, [Problem("yaml", str(err).replace("\n", " "))]) from err
    if not isinstance(raw, dict):
        raise TemplateError(name, [Problem("template", "the file must be a YAML mapping of keys")])
    try:
        template = Template.model_validate(raw)
    except ValidationError as err:
        raise TemplateError(str(raw.get("id", name)), _problems(err)) from err
    if filename is not None:
        stem = filename.rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml")
        if stem != template.id:
            raise TemplateError(template.id, [Problem("id", f"must match the file name {stem!r}")])
    return template

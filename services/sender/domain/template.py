"""The template file format: ``<id>.yaml`` with a subject, preheader and an HTML or MJML body."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.sender.domain.errors import Problem, TemplateError

__all__ = ["Category", "Template", "Tracking", "load_template"]


class Category(StrEnum):
    """Marketing mail needs consent and an unsubscribe; transactional mail must arrive regardless."""

    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class Tracking(BaseModel):
    """Whether opens and clicks are tracked for messages from this template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opens: bool = True
    clicks: bool = True


class Template(BaseModel):
    """One email template; ``html`` or ``mjml`` (exactly one) holds the Liquid body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    category: Category
    subject: str = Field(min_length=1)
    preheader: str
    html: str | None = None
    mjml: str | None = None
    text: str | None = None
    tracking: Tracking = Tracking()
    locale: str | None = None

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

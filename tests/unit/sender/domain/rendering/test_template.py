"""Template files load with clear, per-field errors and validate every part."""

from __future__ import annotations

import pytest

from services.sender.domain.rendering.compile import TemplateCache, validate
from services.sender.domain.rendering.errors import TemplateError
from services.sender.domain.rendering.template import Category, load_template
from tests.unit.sender.conftest import make_template


def test_valid_file_loads_with_tracking_on_by_default() -> None:
    template = load_template(make_template("<p>x</p>"), filename="templates/t1.yaml")
    assert template.category is Category.MARKETING
    assert template.tracking.opens and template.tracking.clicks
    assert template.body_part == "html"


def test_each_bad_field_is_named_with_its_reason() -> None:
    with pytest.raises(TemplateError) as caught:
        load_template("id: t1\ncategory: promo\nsubject: ''\nhtml: x\nlocale: xx_YY\ncolour: red\n")
    where = {p.where: p.reason for p in caught.value.problems}
    assert "marketing" in where["category"]
    assert "subject" in where and "preheader" not in where  # a preheader is optional
    assert "unknown locale" in where["locale"]
    assert "colour" in where


def test_body_must_be_html_or_mjml_not_both() -> None:
    with pytest.raises(TemplateError, match="exactly one"):
        load_template("id: t1\ncategory: marketing\nsubject: s\npreheader: p\nhtml: a\nmjml: b\n")


def test_id_must_match_file_name() -> None:
    with pytest.raises(TemplateError, match="file name"):
        load_template(make_template("<p>x</p>"), filename="other.yaml")


def test_broken_yaml_is_reported_not_raised_raw() -> None:
    with pytest.raises(TemplateError, match="yaml"):
        load_template("id: [unclosed\n")


def test_validate_names_each_broken_liquid_part() -> None:
    text = (
        "id: t1\ncategory: marketing\nsubject: '{{ a | nope }}'\npreheader: '{% if %}'\n"
        "text: '{% for x in y %}'\nhtml: '<p>{{ a }}</p>'\n"
    )
    problems = {p.where: p.reason for p in validate(load_template(text))}
    assert problems.keys() == {"subject", "preheader", "text"}
    assert "nope" in problems["subject"]


def test_validate_reports_invalid_mjml_under_the_mjml_part() -> None:
    template = load_template(make_template("<mjml><mj-body><mj-section>", kind="mjml"))
    problems = validate(template)
    assert [p.where for p in problems] == ["mjml"]


def test_sound_template_validates_clean() -> None:
    template = load_template(make_template("<mjml><mj-body></mj-body></mjml>", kind="mjml"))
    assert validate(template) == []


def test_cache_compiles_each_version_once() -> None:
    cache = TemplateCache(maxsize=2)
    first = load_template(make_template("<p>one</p>"))
    assert cache.get(first) is cache.get(first)
    changed = load_template(make_template("<p>two</p>"))
    assert changed.version != first.version
    assert cache.get(changed) is not cache.get(first)
    assert len(cache) == 2

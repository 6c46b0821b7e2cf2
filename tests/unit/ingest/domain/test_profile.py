"""Pure pieces of ingest: profile merging, identity hashing, error paths."""

from __future__ import annotations

from services.ingest.api.errors import describe, json_path
from services.ingest.domain.profile import carries_profile, identifiers_of, merge_profile, profile_update
from services.ingest.domain.requests import ContactRef
from shared.identity import identifier_hash


def test_later_values_win_attributes_merge_and_tags_accumulate() -> None:
    current = {"email": "a@example.com", "attributes": {"plan": "trial", "level": "beginner"}, "tags": ["vip"]}
    update = {"first_name": "Kari", "attributes": {"level": "expert"}, "tags": ["runner", "vip"]}
    merged = merge_profile(current, update)
    assert merged == {
        "email": "a@example.com",
        "first_name": "Kari",
        "attributes": {"plan": "trial", "level": "expert"},
        "tags": ["runner", "vip"],
    }


def test_unset_fields_never_erase_known_ones() -> None:
    update = profile_update(ContactRef(external_id="c1", first_name="Ola"))
    assert update == {"external_id": "c1", "first_name": "Ola"}
    assert merge_profile({"email": "o@example.com"}, update)["email"] == "o@example.com"


def test_only_identifiers_do_not_count_as_profile_news() -> None:
    assert not carries_profile(ContactRef(external_id="c1"))
    assert not carries_profile(ContactRef(contact_id="abc"))
    assert carries_profile(ContactRef(email="kari@example.com"))


def test_identifiers_strongest_first_and_email_case_folded() -> None:
    ref = ContactRef(email="Kari@Example.COM", external_id="c-9", phone="+4791234567")
    assert identifiers_of(ref) == [("external_id", "c-9"), ("email", "kari@example.com"), ("phone", "+4791234567")]


def test_identity_hashes_ignore_case_and_spacing_but_not_the_workspace() -> None:
    assert identifier_hash("w1", "email", " Kari@Example.com") == identifier_hash("w1", "email", "kari@example.com")
    assert identifier_hash("w1", "email", "kari@example.com") != identifier_hash("w2", "email", "kari@example.com")


def test_error_paths_read_like_json_paths() -> None:
    assert json_path(("body", "items", 0, "price")) == "$.items[0].price"
    assert json_path(("body", "contact", "function-after[needs_an_identifier(), ContactRef]")) == "$.contact"
    errors = [{"loc": ("body", "purchase", "revenue"), "msg": "bad", "type": "x"}]
    assert describe(errors) == [{"path": "$.revenue", "reason": "bad"}]
    tag = [{"loc": ("body",), "msg": "no such type", "type": "union_tag_invalid"}]
    assert describe(tag) == [{"path": "$.type", "reason": "no such type"}]

"""The ingest process's memory of contacts: forgetting one (erasure) leaves the others, and the bounds hold."""

from __future__ import annotations

from services.ingest.adapters.identities import KnownContacts, PublishedProfiles


def test_forgetting_a_contact_drops_every_identifier_of_theirs_and_only_theirs() -> None:
    known = KnownContacts()
    known.remember("ws-a", [("email", "ada@example.com"), ("external_id", "42")], "c-ada")
    known.remember("ws-a", [("email", "bo@example.com")], "c-bo")
    known.remember("ws-b", [("email", "ada@example.com")], "c-ada")  # the same id in another workspace

    known.forget("ws-a", "c-ada")

    assert known.known("ws-a", [("email", "ada@example.com")]) is None
    assert known.known("ws-a", [("external_id", "42")]) is None
    assert known.known("ws-a", [("email", "bo@example.com")]) == "c-bo"
    assert known.known("ws-b", [("email", "ada@example.com")]) == "c-ada"
    assert len(known) == 2


def test_an_identifier_that_moved_to_another_contact_is_not_dropped_with_the_first() -> None:
    known = KnownContacts()
    known.remember("ws-a", [("email", "shared@example.com")], "c-old")
    known.remember("ws-a", [("email", "shared@example.com")], "c-new")

    known.forget("ws-a", "c-old")

    assert known.known("ws-a", [("email", "shared@example.com")]) == "c-new"


def test_the_cache_keeps_its_size_and_forgets_evicted_identifiers_cleanly() -> None:
    known = KnownContacts(size=3)
    for n in range(5):
        known.remember("ws", [("email", f"p{n}@example.com")], f"c-{n}")

    assert len(known) == 3
    assert known.known("ws", [("email", "p0@example.com")]) is None
    known.forget("ws", "c-0")  # evicted already: nothing to do
    known.forget("ws", "c-4")
    assert len(known) == 2


def test_published_profiles_are_forgotten_per_contact_and_bounded() -> None:
    published = PublishedProfiles(size=3)
    published.mark([("ws", "c-1", b"a"), ("ws", "c-1", b"b"), ("ws", "c-2", b"a")])
    assert ("ws", "c-1", b"a") in published

    published.forget("ws", "c-1")
    assert ("ws", "c-1", b"a") not in published and ("ws", "c-1", b"b") not in published
    assert ("ws", "c-2", b"a") in published

    published.mark([("ws", f"c-{n}", b"x") for n in range(3, 7)])
    assert len(published) == 3 and ("ws", "c-2", b"a") not in published
    published.forget("ws", "c-2")  # evicted already
    assert len(published) == 3

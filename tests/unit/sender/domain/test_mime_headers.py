"""Non-ASCII header values are written byte for byte as the stdlib's `Header` wrote them before."""

from __future__ import annotations

from email import charset, message_from_string, policy
from email.header import Header

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sender.domain.mime import encoded_words

_BASE64_UTF8 = charset.Charset("utf-8")
_BASE64_UTF8.header_encoding = charset.BASE64

one_line = st.text(min_size=1, max_size=300).filter(
    lambda value: (
        not value.isascii()
        and value.splitlines() == [value]
        and not any(0xD800 <= ord(character) <= 0xDFFF for character in value)
    )
)


@settings(max_examples=500)
@given(one_line, st.sampled_from(["Subject", "To", "List-Id", "X"]))
def test_encoded_words_are_what_the_stdlib_header_writes(value: str, name: str) -> None:
    assert encoded_words(value, name) == Header(value, _BASE64_UTF8, header_name=name).encode(linesep="\r\n")


def test_a_long_subject_folds_into_words_that_read_back_whole() -> None:
    subject = "Takk for bestillingen, Åse! Din ordre på 1 234,50 kr er på vei 🎉 " * 3
    written = encoded_words(subject, "Subject")

    assert all(len(line) <= 78 for line in written.split("\r\n"))
    parsed = message_from_string(f"Subject: {written}\r\n\r\n", policy=policy.default)
    assert parsed["Subject"] == subject

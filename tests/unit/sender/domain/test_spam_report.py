"""SpamAssassin's report read back: the score and each rule with its points and description."""

from __future__ import annotations

from services.sender.domain.spam_report import parse_reports

REPORT = """X-Spam-Status: No, score=3.8 required=5.0
Message-ID: <m1@shop.example>

Content preview:  Hi Kari, Getting started is the hardest part

Content analysis details:   (3.8 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
-0.0 NO_RECEIVED            Informational: message has no Received headers
 2.8 HTML_IMAGE_ONLY_24     BODY: HTML: images with 2000-2400 bytes of words
 1.0 FONT_INVIS_MSGID       Invisible text + suspicious message ID
                            [with a wrapped description]

--=_dl_boundary
"""


def test_a_report_gives_the_score_and_every_rule_in_order() -> None:
    [score] = parse_reports(REPORT)
    assert score.score == 3.8
    assert [(r.name, r.points) for r in score.rules] == [
        ("NO_RECEIVED", 0.0),
        ("HTML_IMAGE_ONLY_24", 2.8),
        ("FONT_INVIS_MSGID", 1.0),
    ]
    assert score.rules[2].description == "Invisible text + suspicious message ID [with a wrapped description]"


def test_the_summary_names_only_rules_that_moved_the_score() -> None:
    [score] = parse_reports(REPORT)
    assert score.summary() == (
        "2.8 HTML_IMAGE_ONLY_24 (BODY: HTML: images with 2000-2400 bytes of words), "
        "1 FONT_INVIS_MSGID (Invisible text + suspicious message ID [with a wrapped description])"
    )


def test_several_messages_give_one_score_each() -> None:
    clean = REPORT.replace("(3.8 points", "(0.0 points").replace("<m1@", "<m2@").split("-0.0 NO_RECEIVED")[0]
    scores = parse_reports(REPORT + clean)
    assert [(s.message_id, s.score) for s in scores] == [("<m1@shop.example>", 3.8), ("<m2@shop.example>", 0.0)]
    assert scores[1].summary() == "no scoring rules"

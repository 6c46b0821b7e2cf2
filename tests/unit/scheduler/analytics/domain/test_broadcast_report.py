"""A broadcast's totals are its variants' added up, revenue per currency."""

from __future__ import annotations

from decimal import Decimal

from services.scheduler.analytics.domain.broadcast_report import total_of, variant_row
from services.scheduler.analytics.domain.report_models import Counts, Revenue


def test_the_total_adds_the_variants_counts_and_keeps_each_currency_apart() -> None:
    euros = [Revenue(currency="EUR", orders=1, revenue=Decimal("20"))]
    a = variant_row("a", Counts(requested=10, delivered=8, opened=4, clicked=1), euros)
    both = [Revenue(currency="EUR", orders=2, revenue=Decimal("35.50")), Revenue(currency="NOK", orders=1, revenue=99)]
    b = variant_row("b", Counts(requested=10, delivered=10, opened=6, clicked=3, machine_opened=2), both)

    counts, revenue = total_of([a, b])

    assert (counts.requested, counts.delivered, counts.opened, counts.clicked, counts.machine_opened) == (
        20,
        18,
        10,
        4,
        2,
    )
    assert counts.open_rate == 10 / 18 and a.open_rate == 0.5
    assert revenue == [Revenue(currency="EUR", orders=3, revenue=Decimal("55.50")),
                       Revenue(currency="NOK", orders=1, revenue=Decimal("99"))]  # fmt: skip

"""Customer facts, as the scheduler's domain names them; the model lives in `shared/customer_facts.py`
because the sender prints the same facts in templates."""

from shared.customer_facts import (
    COOLING_WITHIN,
    ENGAGED_WITHIN,
    FACT_NAMES,
    MESSAGES_WINDOW,
    CustomerFacts,
    Engagement,
    Spend,
    latest,
)

__all__ = [
    "COOLING_WITHIN",
    "ENGAGED_WITHIN",
    "FACT_NAMES",
    "MESSAGES_WINDOW",
    "CustomerFacts",
    "Engagement",
    "Spend",
    "latest",
]

"""Footer wording in each supported language; English covers any other locale."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FooterText", "footer_text"]


@dataclass(frozen=True, slots=True)
class FooterText:
    unsubscribe: str
    preferences: str
    reason_signed_up: str  # placeholders: {date}, {source}
    reason_subscribed: str  # placeholder: {sender}; used when the sign-up is not on record
    transactional: str  # placeholder: {sender}


_TEXTS = {
    "en": FooterText(
        "Unsubscribe",
        "Manage preferences",
        "You get this because you signed up on {date} via {source}.",
        "You get this because you subscribed to emails from {sender}.",
        "This is a service message about your account or order with {sender}.",
    ),
    "nb": FooterText(
        "Meld deg av",
        "Administrer innstillinger",
        "Du får denne e-posten fordi du meldte deg på {date} via {source}.",
        "Du får denne e-posten fordi du abonnerer på e-post fra {sender}.",
        "Dette er en tjenestemelding om kontoen eller bestillingen din hos {sender}.",
    ),
    "sv": FooterText(
        "Avregistrera dig",
        "Hantera inställningar",
        "Du får detta för att du registrerade dig den {date} via {source}.",
        "Du får detta för att du prenumererar på e-post från {sender}.",
        "Detta är ett servicemeddelande om ditt konto eller din beställning hos {sender}.",
    ),
    "da": FooterText(
        "Afmeld",
        "Administrer præferencer",
        "Du modtager dette, fordi du tilmeldte dig den {date} via {source}.",
        "Du modtager dette, fordi du abonnerer på e-mails fra {sender}.",
        "Dette er en servicemeddelelse om din konto eller ordre hos {sender}.",
    ),
    "id": FooterText(
        "Berhenti berlangganan",
        "Kelola preferensi",
        "Anda menerima email ini karena Anda mendaftar pada {date} melalui {source}.",
        "Anda menerima email ini karena Anda berlangganan email dari {sender}.",
        "Ini adalah pesan layanan tentang akun atau pesanan Anda di {sender}.",
    ),
}
# Norwegian has two written tags in use; both read the Bokmål text.
_ALIASES = {"no": "nb", "nn": "nb", "in": "id"}


def footer_text(locale: str) -> FooterText:
    language = locale.replace("-", "_").split("_", 1)[0].lower()
    return _TEXTS.get(_ALIASES.get(language, language), _TEXTS["en"])

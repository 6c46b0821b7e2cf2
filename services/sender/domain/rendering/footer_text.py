"""Footer wording in each supported language; English covers any other locale."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FooterText", "footer_text", "how_signed_up"]


@dataclass(frozen=True, slots=True)
class FooterText:
    unsubscribe: str
    preferences: str
    reason_signed_up: str  # placeholders: {date}, {how} (e.g. "via our website's sign-up form")
    reason_subscribed: str  # placeholder: {sender}; used when the sign-up is not on record
    transactional: str  # placeholder: {sender}
    how_often: str = "How often: {promise}."  # placeholder: {promise}, the topic's promise in this language


_TEXTS = {
    "en": FooterText(
        "Unsubscribe",
        "Manage preferences",
        "You get this because you signed up on {date} {how}.",
        "You get this because you subscribed to emails from {sender}.",
        "This is a service message about your account or order with {sender}.",
    ),
    "nb": FooterText(
        "Meld deg av",
        "Administrer innstillinger",
        "Du får denne e-posten fordi du meldte deg på {date} {how}.",
        "Du får denne e-posten fordi du abonnerer på e-post fra {sender}.",
        "Dette er en tjenestemelding om kontoen eller bestillingen din hos {sender}.",
        "Så ofte: {promise}.",
    ),
    "sv": FooterText(
        "Avregistrera dig",
        "Hantera inställningar",
        "Du får detta för att du registrerade dig den {date} {how}.",
        "Du får detta för att du prenumererar på e-post från {sender}.",
        "Detta är ett servicemeddelande om ditt konto eller din beställning hos {sender}.",
        "Så ofta: {promise}.",
    ),
    "da": FooterText(
        "Afmeld",
        "Administrer præferencer",
        "Du modtager dette, fordi du tilmeldte dig den {date} {how}.",
        "Du modtager dette, fordi du abonnerer på e-mails fra {sender}.",
        "Dette er en servicemeddelelse om din konto eller ordre hos {sender}.",
        "Så tit: {promise}.",
    ),
    "id": FooterText(
        "Berhenti berlangganan",
        "Kelola preferensi",
        "Anda menerima email ini karena Anda mendaftar pada {date} {how}.",
        "Anda menerima email ini karena Anda berlangganan email dari {sender}.",
        "Ini adalah pesan layanan tentang akun atau pesanan Anda di {sender}.",
        "Seberapa sering: {promise}.",
    ),
}
# How a person signed up, in their words rather than the system's (`checkout`, `api`, `newsletter-form`):
# the kind of sign-up found in the recorded source, and for anything else the source itself.
_HOW: dict[str, dict[str, str]] = {
    "en": {
        "form": "via our website's sign-up form",
        "checkout": "at checkout",
        "webinar": "when you registered for one of our webinars",
        "account": "when you created an account with us",
        "shop": "via our online shop",
        "import": "with us, before we moved our mailing list",
        "guide": "when you asked for one of our guides",
        "preferences": "on our email preferences page",
        "other": "via {words}",
    },
    "nb": {
        "form": "via påmeldingsskjemaet på nettsiden vår",
        "checkout": "i kassen",
        "webinar": "da du meldte deg på et av webinarene våre",
        "account": "da du opprettet en konto hos oss",
        "shop": "via nettbutikken vår",
        "import": "hos oss, før vi flyttet e-postlisten vår",
        "guide": "da du ba om en av veiledningene våre",
        "preferences": "på siden for e-postinnstillingene dine",
        "other": "via {words}",
    },
    "sv": {
        "form": "via anmälningsformuläret på vår webbplats",
        "checkout": "i kassan",
        "webinar": "när du anmälde dig till ett av våra webbinarier",
        "account": "när du skapade ett konto hos oss",
        "shop": "via vår webbutik",
        "import": "hos oss, innan vi flyttade vår e-postlista",
        "guide": "när du bad om en av våra guider",
        "preferences": "på sidan för dina e-postinställningar",
        "other": "via {words}",
    },
    "da": {
        "form": "via tilmeldingsformularen på vores hjemmeside",
        "checkout": "ved kassen",
        "webinar": "da du tilmeldte dig et af vores webinarer",
        "account": "da du oprettede en konto hos os",
        "shop": "via vores webshop",
        "import": "hos os, før vi flyttede vores mailingliste",
        "guide": "da du bad om en af vores guider",
        "preferences": "på siden for dine e-mailindstillinger",
        "other": "via {words}",
    },
    "id": {
        "form": "melalui formulir pendaftaran di situs web kami",
        "checkout": "saat checkout",
        "webinar": "saat Anda mendaftar salah satu webinar kami",
        "account": "saat Anda membuat akun di tempat kami",
        "shop": "melalui toko online kami",
        "import": "di tempat kami, sebelum kami memindahkan milis kami",
        "guide": "saat Anda meminta salah satu panduan kami",
        "preferences": "di halaman preferensi email kami",
        "other": "melalui {words}",
    },
}
# The first kind whose word is one of the recorded source's words wins (`checkout-page` is a checkout).
_KINDS = (
    ("checkout", "checkout"),
    ("webinar", "webinar"),
    ("import", "import"),
    ("account", "account"),
    ("trial", "account"),
    ("guide", "guide"),
    ("download", "guide"),
    ("whitepaper", "guide"),
    ("ebook", "guide"),
    ("preferences", "preferences"),
    ("api", "shop"),
    ("shop", "shop"),
    ("form", "form"),
    ("newsletter", "form"),
    ("signup", "form"),
    ("sign", "form"),
    ("popup", "form"),
    ("footer", "form"),
    ("website", "form"),
)

# Norwegian has two written tags in use; both read the Bokmål text.
_ALIASES = {"no": "nb", "nn": "nb", "in": "id"}


def _language(locale: str) -> str:
    language = locale.replace("-", "_").split("_", 1)[0].lower()
    language = _ALIASES.get(language, language)
    return language if language in _TEXTS else "en"


def footer_text(locale: str) -> FooterText:
    return _TEXTS[_language(locale)]


def how_signed_up(locale: str, source: str) -> str:
    """`newsletter-form` → "via our website's sign-up form", `checkout` → "at checkout", in the reader's language."""
    words = re.findall(r"[^\W_]+", source.lower())
    kind = next((kind for word, kind in _KINDS if word in words), "other")
    return _HOW[_language(locale)][kind].format(words=" ".join(words) or "our website")

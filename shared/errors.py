"""Typed errors: they decide between retrying later and giving up on a record."""

from __future__ import annotations


class DriplineError(Exception):
    """Base of Dripline's own errors."""


class ConfigurationError(DriplineError):
    """A setting is missing or wrong; the process cannot do its job."""


class Transient(DriplineError):
    """Worth retrying: a timeout, a broker or SMTP server that is briefly away, a 4xx SMTP answer."""


class Permanent(DriplineError):
    """Retrying cannot help: bad data, a 5xx SMTP answer. The record goes to dead letters or suppression."""


class BrokerUnavailable(Transient):
    """The broker did not acknowledge a write in time."""

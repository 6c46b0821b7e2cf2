"""Pure analytics: message facts and counters, attribution, A/B statistics. No I/O, no clock."""

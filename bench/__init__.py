"""Dripline's benchmarks: every stage measured against its physical limit, in one run (`make bench`)."""

"""Kafka plumbing every service shares: client settings, codec, producer, consumer loop, admin."""

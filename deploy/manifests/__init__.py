"""The parts of the base manifests that are derived from code: settings, topics, workloads."""

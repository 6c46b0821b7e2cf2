"""Kubernetes deployment: manifest generation, a small Kustomize renderer and offline validation."""

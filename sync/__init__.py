"""Offline replay of handheld scans (see docs/architecture.md); the server inbox lands here."""

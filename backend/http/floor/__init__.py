"""Handheld floor screens: one task per screen, driven by scans (keyboard wedge + Enter) or touch."""

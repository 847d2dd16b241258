"""What a handheld needs to keep scanning without the server: a compact, read-only snapshot."""

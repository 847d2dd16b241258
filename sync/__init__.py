"""Offline replay of handheld scans: the server side of /work/shared/OFFLINE_PROTOCOL.md.

envelopes.py (strict structs) → replay.py (`apply_batch`: one transaction per envelope, in seq
order) → kinds.py (the domain command per kind) and conflicts.py (found stock for scans the ledger
cannot cover); inbox.py stores results, seq gaps and devices; review.py is the managers' view.
"""

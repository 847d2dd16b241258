"""Offline replay of handheld scans: the adapter between the handheld's outbox and the domain.
The protocol it follows: docs/offline-protocol.md.

envelopes.py (strict structs) → replay.py (`apply_batch`: one transaction per envelope, in seq
order) → kinds.py (the domain command per kind); inbox.py stores results, seq gaps and devices.
What happens to a scan the books cannot take (found stock, the count it opens, the managers'
exceptions and their review) is domain policy: backend/domain/scan_exceptions.
"""

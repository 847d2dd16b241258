/* Stockline outbox: scans are stored on the device (IndexedDB) before any network attempt and
   replayed to /sync/txns exactly once (OFFLINE_PROTOCOL.md). */

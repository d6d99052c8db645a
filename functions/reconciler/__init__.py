"""The reconciler: on a schedule, queues again every delivery China has not acknowledged in time, and every other
piece of work left open too long (a declaration not matched, a version's documents not made, an outbox record not
published)."""

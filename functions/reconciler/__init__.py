"""The reconciler: on a schedule, queues again every delivery China has not acknowledged in time."""

"""The overseer: on a schedule, flags every application still undecided past its one-working-day due time."""

"""The application layer: one module per family of use cases. Each use case takes a command (what a party
asked, as data) and a unit of work (``unit_of_work.UnitOfWork``: the repositories it reads, the writes it
stages, one commit), applies the domain's rules and commits once. No AWS and no HTTP here: adapters implement
the ports in ``unit_of_work`` and ``ports``; the functions call these use cases."""

"""A half-year cycle: opening it with its frozen snapshot (``cycle.open_cycle``, ``get_cycle``,
``reopen``), rule 三(四) item points (``points``) and the milestones of the catalog (``milestones``)."""

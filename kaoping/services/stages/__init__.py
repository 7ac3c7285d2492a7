"""The cycle's stages as the flow runs them (``steps``: prepare, issue, arrange visits, publish),
the state of a cycle (``status``, the 进展 artifact) and what a signer reads in the dialog
(``signoff_view``)."""

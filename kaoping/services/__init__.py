"""The services: what the office does, one sub-package per capability.

Each function takes a ``Session`` (and ``Settings``) explicitly, does one thing and leaves the
commit to its caller (the CLI command or the flow task). The sub-packages are layered — a
package imports only those listed after it (``pyproject.toml``, contract "Services"):

- ``stages``     — the cycle's stages as the flow runs them, 进展/status, the sign-off dialog's view
- ``returns``    — a returned file recognised once and taken in by its kind (forms, 异议表)
- ``signoff``    — the two sign-offs (one-time codes, answers in the UI, replies by email)
- ``reports``    — 通报, 报告, 反馈函 (final and 征求意见稿), the workbook, 文号 register, distribution
- ``objections`` — the 异议期: window, objections by reply/form/phone, lead opinions, decisions
- ``visits``     — field-visit teams, schedule on working days, invitations (实地调研)
- ``surveys``    — public-opinion survey exports (民意调查)
- ``forms``      — the Word forms out: one module per kind, the engine, issuing by email
- ``scoring``    — scores in, verification adjustments, the computation of results
- ``cycles``     — opening a cycle (its snapshot), rule 三(四) points, milestones
- ``reference``  — the registry of units, catalogs, 承担, the working-day calendar, ``kaoping init``

Beneath them all: ``kaoping.records`` (the audit ledger, every file received), which the
notifications' outbox uses too.
"""

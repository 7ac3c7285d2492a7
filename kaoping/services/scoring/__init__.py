"""Scores and results: lead assessors' and component scores in (``entry``), the 专班's
verification — confirmations, adjustments, bonus/deduction, veto (``verification``) — and the
computation of every figure (``results.compute_cycle``)."""

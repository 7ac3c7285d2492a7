"""The 异议期 between the two sign-offs: the window (``window``), objections by reply, by the
returned 异议表 (``form``, ``by_form``) or by phone (``record``), the lead assessor's opinion
(``opinions``), decisions (``record.decide``) and the summary documents quote (``summary``)."""

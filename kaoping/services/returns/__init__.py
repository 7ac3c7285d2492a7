"""Files coming back: one recognition of a returned .docx (its signed identity) and its hand-over
to the kind that reads it — every form kind, and the 异议表 (``intake.receive``, ``intake.receive_path``)."""

"""The two sign-offs (专班核实, 分管领导审定): one-time codes sent only to the signer, answers
checked and recorded in the audit ledger (``signatures``), and signatures by email reply (``reply``)."""

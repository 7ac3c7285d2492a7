"""What kaoping keeps for good, beneath the services and the notifications: the hash-chained audit ledger (``audit``: ``append``, ``verify_chain``,
``record_anchor``) and every file anyone sent (``received``: ``keep_received``)."""

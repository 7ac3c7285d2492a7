"""What kaoping keeps for good, beneath the services and the notifications: the hash-chained audit ledger (``audit``: ``record``, ``verify``,
``anchor``) and every file anyone sent (``received``: ``keep_received``)."""

"""Everything that reaches a person by email or comes back by mail.

Below the services (the services use them):
- ``render``     — message kinds rendered from ``templates/email`` to a subject, text and HTML
- ``outbox``     — messages stored before they are sent; ``delivery.send_pending`` delivers each once
- ``invites``    — calendar invitations (.ics) for field visits
- ``mail``       — the wire: SMTP sending, IMAP fetching, parsing a raw message, the demo's servers

Above the services (they call them):
- ``mailbox``    — the office mailbox read over IMAP: each message recorded, handed to the
  service that takes it (returned forms, sign-off replies, objections), moved
- ``reminders``  — reminders before deadlines and escalation after them, on working days
"""

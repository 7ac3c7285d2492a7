"""Email: the transactional outbox, SMTP delivery, reminders and calendar invitations."""

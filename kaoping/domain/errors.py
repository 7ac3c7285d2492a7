"""Refusals that reach a person.

Every refusal says what is wrong and what to do, in Chinese a civil servant understands
(English after it where it helps). The CLI prints ``message`` and exits non-zero; the
intake flow emails it back to the sender. Nothing raised as a ``KaopingError`` may leave
a half-written change behind: services raise before they write, or inside the
transaction that is then rolled back.
"""

from __future__ import annotations


class KaopingError(Exception):
    """A refusal with a message for people. ``problems`` lists every finding at once."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  {i}. {p}" for i, p in enumerate(self.problems, 1)]
        return "\n".join(lines)


class InvalidInput(KaopingError):
    """A file or value that cannot be accepted as it is."""


class NotFound(KaopingError):
    exit_code = 3


class Conflict(KaopingError):
    """The request contradicts the stored state (e.g. a cycle in progress uses it)."""

    exit_code = 4


class Unavailable(Exception):
    """Not a refusal: the database, the disk or a server kaoping needs cannot be used right now
    (restarting, unreachable, full). Nothing was decided about what was being handled and nobody
    is told anything about it: it stays where it was (a message in the mailbox, a file in the
    inbox) and the next run takes it again. ``message`` is one line saying what to check."""

    exit_code = 3

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

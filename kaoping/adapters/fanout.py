"""How a stage's pure work is mapped over its items (issue 29): building forms and letters, reading
returned files — functions of picklable values that touch no database, number nothing and append
nothing to the audit log.

A service that has such work takes a ``Fanout`` and calls ``fanout(function, items)``: the results
come back in the order of ``items``. ``serial`` (the default: the CLI, the services' tests, a flow
with ``KAOPING_TASK_RUNNER=serial``) calls the function here, one item after the other; the flows
hand in one that submits the work to their Prefect task runner (``kaoping.flows.runner``: Dask
through prefect-dask). Whatever the fanout, the function is the same, so the output is the same:
the service records what came back, in its own transaction, in the order of the items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Fanout(Protocol):
    def __call__(self, function: Callable[[T], R], items: Sequence[T], /) -> list[R]: ...


def serial(function: Callable[[T], R], items: Sequence[T], /) -> list[R]:
    """Every item here, in order."""
    return [function(item) for item in items]

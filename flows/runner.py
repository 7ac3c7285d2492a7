"""Where the flows' pure work runs (issue 29): ``KAOPING_TASK_RUNNER=serial`` (the default) keeps it in
the run's own process; ``dask`` hands it to Dask through prefect-dask's ``DaskTaskRunner`` (the extra
``pip install kaoping[scale]``) — on the scheduler at ``KAOPING_DASK_ADDRESS``, or without one on a
``LocalCluster`` of ``KAOPING_DASK_WORKERS`` processes started for the flow run.

What goes to the workers is pure: building forms and letters, reading and checking returned files —
functions of picklable values (``kaoping.adapters.fanout``). What stays in the run: every database write,
the document numbers and the audit chain, in one transaction per stage as without Dask. The services
take a ``Fanout``; ``fanout()`` gives the task that calls them the one for the flow's task runner:
batches of ``KAOPING_DASK_BATCH`` items submitted as Prefect tasks (``.submit``), their results put
back in the order of the items — so the serial path and the Dask path write the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from kaoping.adapters.fanout import Fanout, serial
from kaoping.settings import Settings, TaskRunner, get_settings

#: The processes that did each kind of work in this process's runs (label → pids): what the runs log,
#: and how a test sees that the work really left the run.
WORKERS: dict[str, set[int]] = {}

NEEDS_EXTRA = ("KAOPING_TASK_RUNNER=dask 需要安装 kaoping 的 scale 扩展（pip install 'kaoping[scale]'，即 prefect-dask）："
               "请安装后重试，或改为 KAOPING_TASK_RUNNER=serial。")


def dask_task_runner(settings: Settings, **cluster_kwargs):
    """prefect-dask's task runner for these settings: the scheduler at ``dask_address``, else a
    ``LocalCluster`` of ``dask_workers`` processes (``cluster_kwargs`` override its arguments)."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise RuntimeError(NEEDS_EXTRA) from None
    if settings.dask_address and not cluster_kwargs:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": settings.dask_workers, "processes": True, "threads_per_worker": 1,
                                          "dashboard_address": None, **cluster_kwargs})


def configured_task_runner():
    """The task runner the flows are declared with: Dask when the settings say so, else Prefect's
    default (``None``). Read when the flows' module is loaded (each flow run of a process worker
    loads it anew); settings that cannot be read leave the default, and the run's first task then
    says what is wrong with them."""
    try:
        settings = Settings()
    except Exception:  # noqa: BLE001 - reported, in Chinese, by the first task that reads the settings
        return None
    return dask_task_runner(settings) if settings.task_runner is TaskRunner.dask else None


def on_dask() -> bool:
    """Whether the running flow's task runner is prefect-dask's."""
    runner = getattr(FlowRunContext.get(), "task_runner", None)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        return False
    return isinstance(runner, DaskTaskRunner)


class Opaque:
    """A value handed to a task as one opaque parameter: Prefect does not walk into it looking for futures
    (``quote`` would do the same in the run, but arrives on a Dask worker as a bare tuple)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __getstate__(self):
        return self.value

    def __setstate__(self, value):
        self.value = value


@task(name="并行处理", task_run_name="{label}（第 {batch} 批）", cache_policy=NO_CACHE, persist_result=False)
def pure_work(label: str, batch: int, function: Callable, items: Opaque) -> tuple[int, list]:
    """One batch of pure work on a worker: the results in order, and the process that made them."""
    return os.getpid(), [function(item) for item in items.value]


def fanout(label: str, settings: Settings | None = None) -> Fanout:
    """The fanout for the running flow's task runner: ``serial`` unless it is a ``DaskTaskRunner``."""
    if not on_dask():
        return serial
    size = (settings or get_settings()).dask_batch

    def submit_batches(function, items):
        items = list(items)
        futures = [pure_work.submit(label, number, function, Opaque(items[start:start + size]))
                   for number, start in enumerate(range(0, len(items), size), start=1)]
        results, pids = [], set()
        for future in futures:
            pid, done = future.result()
            pids.add(pid)
            results += done
        WORKERS.setdefault(label, set()).update(pids)
        get_run_logger().info("%s：%s 项，分 %s 批，由 %s 个 Dask 工作进程完成", label, len(items), len(futures), len(pids))
        return results

    return submit_batches

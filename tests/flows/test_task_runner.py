"""Which task runner the flows are declared with (issue 29, flows/runner.py): KAOPING_TASK_RUNNER=serial|dask,
KAOPING_DASK_ADDRESS, KAOPING_DASK_WORKERS. No server, no cluster: what is chosen, and what happens without the
extra. (The work on a real LocalCluster: tests/e2e/test_dask.py.)"""

from __future__ import annotations

import builtins

import pytest

from kaoping.adapters.fanout import serial
from kaoping.flows import runner


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name in ("KAOPING_TASK_RUNNER", "KAOPING_DASK_ADDRESS", "KAOPING_DASK_WORKERS", "KAOPING_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_serial_is_the_default_and_keeps_prefects_own_runner(env):
    assert runner.configured_task_runner() is None
    env.setenv("KAOPING_TASK_RUNNER", "serial")
    assert runner.configured_task_runner() is None
    assert runner.fanout("生成自评表") is serial  # outside a Dask flow run: the work stays here
    assert serial(lambda x: x * 2, [1, 2, 3]) == [2, 4, 6]


def test_dask_on_a_scheduler_or_a_local_cluster_of_processes(env):
    pytest.importorskip("prefect_dask", reason="prefect-dask 未安装（pip install -e '.[scale]'）")
    env.setenv("KAOPING_TASK_RUNNER", "dask")
    env.setenv("KAOPING_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    chosen = runner.configured_task_runner()
    assert type(chosen).__name__ == "DaskTaskRunner" and chosen.address == "tcp://10.0.0.5:8786"
    env.delenv("KAOPING_DASK_ADDRESS")
    env.setenv("KAOPING_DASK_WORKERS", "3")
    local = runner.configured_task_runner()
    assert local.address is None
    assert local.cluster_kwargs["n_workers"] == 3 and local.cluster_kwargs["processes"] is True


def test_dask_without_the_extra_is_refused_in_chinese(env, monkeypatch):
    env.setenv("KAOPING_TASK_RUNNER", "dask")
    real_import = builtins.__import__

    def without_prefect_dask(name, *args, **kwargs):
        if name.startswith("prefect_dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_prefect_dask)
    with pytest.raises(RuntimeError, match=r"kaoping\[scale\]"):
        runner.configured_task_runner()


def test_a_value_that_is_neither_is_refused(env):
    from pydantic import ValidationError

    from kaoping.settings import Settings

    env.setenv("KAOPING_TASK_RUNNER", "threads")
    with pytest.raises(ValidationError):
        Settings()
    assert runner.configured_task_runner() is None  # the flows still load; the first task says what is wrong

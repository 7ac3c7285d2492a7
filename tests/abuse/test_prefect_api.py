"""Issue 24, attack 2 (and the open door of attack 1), repeated against a Prefect server set up as
production is (Prefect's own authentication, the kaoping work pool from its shipped template):

- Anyone who reached the Prefect API read a run's inputs (the signer's answer, code included) and
  ran commands on the worker: ``PATCH /api/deployments/{id}`` with ``job_variables.command`` set,
  then a run — the process worker ran it as root with every ``KAOPING_*`` setting in its environment.
- A run's parameters chose folders: an intake run with ``inbox`` set elsewhere moved files that
  were not kaoping's into ``refused/``.

Now the API refuses every request without the credentials (health probes aside); the work pool's
job has no variables, so not even the office's own credentials set a command, an environment or a
working directory; and no deployment of prefect.yaml takes a path or a command as a parameter."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from prefect import flow

from kaoping.adapters.prefect_server import (
    DEPLOYMENT_HOME,
    ENGINE_COMMAND,
    WORK_POOL_TEMPLATE,
    ephemeral_server,
    new_auth_string,
)

#: What must never be a deployment parameter: a path, a folder or a command on the worker.
PATHLIKE = ("inbox", "dir", "folder", "path", "file", "out", "command", "cmd", "script", "home")


@flow(name="probe")
def probe() -> None:
    """A flow to deploy on the pool (the test never runs it)."""


@pytest.fixture
def closed(tmp_path_factory):
    """A Prefect server requiring credentials, with the kaoping pool and one deployment on it. (One
    test uses it: while it runs, this process's Prefect settings point at it, which no other test of a
    pytest-xdist worker may meet — so it is not shared across tests.)"""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    auth = new_auth_string()
    with ephemeral_server(tmp_path_factory.mktemp("closed-prefect"), auth_string=auth) as api_url:
        with get_client(sync_client=True) as client:  # kaoping's own client: PREFECT_API_AUTH_STRING set
            client.create_work_pool(WorkPoolCreate(name="kaoping", type="process",
                                                   base_job_template=json.loads(WORK_POOL_TEMPLATE.read_text())))
            deployment = client.create_deployment(flow_id=client.create_flow(probe), name="probe",
                                                  entrypoint="flows/daily.py:intake", work_pool_name="kaoping")
            run = client.create_flow_run_from_deployment(deployment)
        yield api_url, auth, deployment, run.id


def test_the_api_refuses_strangers_and_not_even_the_office_sets_what_a_worker_runs(closed):
    api_url, auth, deployment, run_id = closed
    requests = [("POST", f"{api_url}/flow_runs/filter", {}),
                ("POST", f"{api_url}/flow_runs/{run_id}/input/filter", {"prefix": "suspended"}),  # the signer's answer
                ("GET", f"{api_url}/deployments/{deployment}", None),
                ("PATCH", f"{api_url}/deployments/{deployment}", {"job_variables": {"command": "id > /tmp/pwned"}}),
                ("POST", f"{api_url}/deployments/{deployment}/create_flow_run", {}),
                ("POST", f"{api_url}/logs/filter", {}),
                ("POST", f"{api_url}/artifacts/filter", {})]
    for method, url, body in requests:
        assert httpx.request(method, url, json=body, timeout=30).status_code == 401, (method, url)
        wrong = httpx.request(method, url, json=body, auth=("kaoping", "guessed"), timeout=30)
        assert wrong.status_code == 401, (method, url)
    assert httpx.get(f"{api_url}/health", timeout=30).status_code == 200  # a load balancer's probe still works
    user, password = auth.split(":", 1)
    assert httpx.post(f"{api_url}/flow_runs/filter", json={}, auth=(user, password), timeout=30).status_code == 200
    office_cannot_set_what_a_worker_runs(deployment)


def office_cannot_set_what_a_worker_runs(deployment) -> None:
    """With the office's own credentials: no job variable that would choose the worker's command,
    environment or working directory is taken."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import PrefectHTTPStatusError

    attacks = ({"command": "id > /tmp/pwned"}, {"env": {"LD_PRELOAD": "/tmp/evil.so"}}, {"working_dir": "/etc"})
    with get_client(sync_client=True) as client:
        for variables in attacks:  # a run asking for them is refused
            with pytest.raises(PrefectHTTPStatusError) as refused:
                client.create_flow_run_from_deployment(deployment, job_variables=variables)
            assert refused.value.response.status_code == 422 and "Additional properties" in refused.value.response.text
        # Prefect stores a deployment's job variables unchecked (PATCH without the pool) — but no run of it is made.
        client.update_deployment(deployment, DeploymentUpdate(job_variables=attacks[0]))
        with pytest.raises(PrefectHTTPStatusError) as refused:
            client.create_flow_run_from_deployment(deployment)
        assert refused.value.response.status_code == 422
        client.update_deployment(deployment, DeploymentUpdate(job_variables={}))


def test_the_worker_starts_no_command_of_anyones_even_if_the_server_were_bypassed(prefect_server):
    # (prefect_server: the configuration is built with a client, as a worker builds it)
    import asyncio

    from prefect.workers.process import ProcessJobConfiguration

    template = json.loads(WORK_POOL_TEMPLATE.read_text())
    configuration = asyncio.run(ProcessJobConfiguration.from_template_and_values(
        template, {"command": "id > /tmp/pwned", "working_dir": "/etc", "env": {"LD_PRELOAD": "/tmp/evil.so"}},
        client=None))
    # The engine's own command (the template's), in a temporary folder, with the worker's environment only.
    assert configuration.command == ENGINE_COMMAND and configuration.working_dir is None and configuration.env == {}


def test_no_deployment_takes_a_path_or_a_command():
    import importlib.util

    spec = yaml.safe_load((DEPLOYMENT_HOME / "prefect.yaml").read_text(encoding="utf-8"))
    seen = []
    for deployment in spec["deployments"]:
        assert not deployment.get("job_variables"), deployment["name"]
        assert not deployment.get("pull") and not deployment.get("build"), deployment["name"]
        module_path, name = deployment["entrypoint"].split(":")
        module = importlib.util.spec_from_file_location(f"kaoping_{name}", DEPLOYMENT_HOME / module_path)
        loaded = importlib.util.module_from_spec(module)
        module.loader.exec_module(loaded)
        properties = getattr(loaded, name).parameters.model_dump()["properties"]
        for parameter, schema in properties.items():
            assert not any(word in parameter.lower() for word in PATHLIKE), (deployment["name"], parameter)
            assert schema.get("format") != "path", (deployment["name"], parameter)
        seen.append(deployment["name"])
    assert len(seen) == 4


def test_an_intake_run_cannot_be_pointed_at_another_folder(tmp_path):
    from prefect.exceptions import ParameterTypeError, SignatureMismatchError

    from kaoping.flows.daily import intake

    elsewhere = tmp_path / "someone-elses"
    elsewhere.mkdir()
    (elsewhere / "合同.docx").write_bytes(b"PK\x03\x04 not kaoping's")
    with pytest.raises((ParameterTypeError, SignatureMismatchError, TypeError)):
        intake.validate_parameters({"inbox": str(elsewhere)})
    assert [p.name for p in elsewhere.iterdir()] == ["合同.docx"]
    assert not Path(elsewhere / "refused").exists()


def test_doctor_flags_a_pool_whose_job_a_deployment_could_choose():
    from prefect.workers.process import ProcessWorker

    from kaoping.adapters.prefect_check import locked_pool

    template = json.loads(WORK_POOL_TEMPLATE.read_text())
    assert locked_pool(template)
    assert not locked_pool(ProcessWorker.get_default_base_job_template())  # `prefect work-pool create --type process`
    # A pool made before the template named the engine's command (Prefect then starts the engine itself) is as closed;
    # any other command is not, be it a constant or a template a variable could fill.
    assert locked_pool({**template, "job_configuration": {"stream_output": True}})
    for command in ("id > /tmp/pwned", "{{ command }}", f"{ENGINE_COMMAND} --x"):
        assert not locked_pool({**template, "job_configuration": {"command": command}}), command
    for key, value in (("env", {"LD_PRELOAD": "/tmp/evil.so"}), ("working_dir", "/etc")):
        assert not locked_pool({**template, "job_configuration": {**template["job_configuration"], key: value}}), key

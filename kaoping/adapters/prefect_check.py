"""`kaoping doctor` against the Prefect server the cycle runs on, with the credentials this machine
uses (``PREFECT_API_URL``, ``PREFECT_API_AUTH_STRING``): the API answers them — and refuses a
request without them —, the work pool ``kaoping`` exists with a worker online, every deployment of
``prefect.yaml`` is registered as it declares it and no other is on the pool, and ``PREFECT_UI_URL`` is
an address the signers can open (it is the link in the sign-off emails)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import yaml

from kaoping.adapters.prefect_server import DEPLOYMENT_HOME, ENGINE_COMMAND, POOL
from kaoping.domain.readiness import Check

AREA = "Prefect"
LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def _prefect_yaml(home: Path) -> dict:
    return yaml.safe_load((home / "prefect.yaml").read_text(encoding="utf-8"))


def shipped_deployments(home: Path = DEPLOYMENT_HOME) -> list[tuple[str, bool]]:
    """(name, scheduled) of every deployment in ``prefect.yaml``."""
    document = _prefect_yaml(home)
    return [(d["name"], bool(d.get("schedules"))) for d in document.get("deployments", [])]


def altered_deployments(registered, home: Path = DEPLOYMENT_HOME) -> list[str]:
    """What differs from ``prefect.yaml`` among the deployments on the pool, one line each: a deployment it does not
    declare, or one whose entrypoint, pull steps, job variables or path were changed. Prefect stores what anyone
    holding the API's credential sends (``PATCH /deployments/{id}``), and a worker runs a deployment's pull steps
    (``run_shell_script`` among them) and imports its entrypoint from its folder: a changed one runs commands on the
    worker. ``registered``: Prefect's deployment objects; the pull steps are compared with ``{{ $KAOPING_HOME }}``
    read as this installation's folder (``KAOPING_HOME``, else the one ``prefect.yaml`` is in)."""
    document = _prefect_yaml(home)
    shipped = {d["name"]: d for d in document.get("deployments", [])}
    folders = {str(Path(f).resolve()) for f in (os.environ.get("KAOPING_HOME"), home) if f}
    steps = [json.dumps(document.get("pull") or [], ensure_ascii=False).replace("{{ $KAOPING_HOME }}", f)
             for f in sorted(folders)]
    found = []
    for deployment in registered:
        if getattr(deployment, "work_pool_name", None) != POOL:
            continue
        declared = shipped.get(deployment.name)
        if declared is None:
            found.append(f"{deployment.name}：prefect.yaml 中没有这个部署")
            continue
        changed = [what for what, same in (
            ("入口", deployment.entrypoint == declared["entrypoint"]),
            ("拉取步骤", json.dumps(deployment.pull_steps or [], ensure_ascii=False) in steps),
            ("作业变量", not deployment.job_variables),
            ("路径", not getattr(deployment, "path", None))) if not same]
        if changed:
            found.append(f"{deployment.name}：{'、'.join(changed)}与 prefect.yaml 不同")
    return found


def _ui_check(ui_url: str | None) -> Check:
    host = urlparse(ui_url or "").hostname or ""
    if not ui_url or host in LOOPBACK or host.startswith("127."):
        why = "未设置" if not ui_url else f"{ui_url} 是本机地址"
        return Check.fail(AREA, "界面地址（PREFECT_UI_URL）", f"{why}：签字邮件中的链接，签字人在自己的电脑上打不开",
                          fix="设置 PREFECT_UI_URL 为大家访问 Prefect 界面的地址（反向代理的 https 地址），worker 上也要设置")
    if urlparse(ui_url).scheme != "https":
        return Check.warn(AREA, "界面地址（PREFECT_UI_URL）", ui_url, fix="签字验证码经此页面提交：请经反向代理使用 https")
    return Check.ok(AREA, "界面地址（PREFECT_UI_URL）", ui_url)


def _refuses_strangers(api_url: str) -> bool:
    """Does the server refuse a request that carries no credentials (as a stranger on the network would send)?"""
    import httpx

    try:
        response = httpx.get(f"{api_url.rstrip('/')}/work_pools/{POOL}", timeout=10)
    except httpx.HTTPError:
        return False
    return response.status_code == 401


def prefect_checks(cycle_deployment: str) -> list[Check]:
    """The server, its closure to strangers, the pool and a worker, the deployments, the UI address."""
    import httpx
    import prefect.settings as ps
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    current = ps.Settings()  # read now (environment, profile): this command may run long after Prefect was imported
    api_url = current.api.url
    if not api_url:
        return [Check.fail(AREA, "Prefect 服务器", "未设置 PREFECT_API_URL",
                           fix="设置为 Prefect 服务器的 API 地址，例如 http://127.0.0.1:4200/api（与服务器同机）或反向代理的 https 地址"),
                _ui_check(current.ui_url)]
    checks: list[Check] = []
    updates = {ps.PREFECT_API_URL: api_url, ps.PREFECT_API_AUTH_STRING: current.api.auth_string, ps.PREFECT_CLIENT_MAX_RETRIES: 0}
    with ps.temporary_settings(updates=updates), get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(POOL)
        except ObjectNotFound:
            pool = None
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 401:
                return [Check.fail(AREA, "Prefect 服务器", f"{api_url} 拒绝了本机的凭据（401）",
                                   fix="设置 PREFECT_API_AUTH_STRING（用户名:密码）与服务器的 PREFECT_SERVER_API_AUTH_STRING 一致"),
                        _ui_check(current.ui_url)]
            return [Check.fail(AREA, "Prefect 服务器", f"{api_url} 出错（{exc.response.status_code}）"), _ui_check(current.ui_url)]
        except (httpx.HTTPError, OSError, RuntimeError) as exc:
            return [Check.fail(AREA, "Prefect 服务器", f"无法连接 {api_url}（{exc.__class__.__name__}）",
                               fix="确认 Prefect 服务器已启动（systemctl status prefect-server），PREFECT_API_URL 正确"),
                    _ui_check(current.ui_url)]
        if current.api.auth_string is None or not _refuses_strangers(api_url):
            checks.append(Check.fail(AREA, "Prefect 服务器", f"{api_url} 不需要登录就能访问：能连到它的人都能改部署、提交签字",
                                     fix="服务器设置 PREFECT_SERVER_API_AUTH_STRING=用户名:长随机密码，worker 和运维电脑设置同样的 "
                                         "PREFECT_API_AUTH_STRING（见 deploy/）"))
        else:
            checks.append(Check.ok(AREA, "Prefect 服务器", f"{api_url} 以本机凭据访问成功；不带凭据的请求被拒绝"))
        checks += _pool_and_deployments(client, pool, cycle_deployment)
    checks.append(_ui_check(current.ui_url))
    return checks


def locked_pool(template: dict | None) -> bool:
    """Whether a pool's base job template lets no deployment or run choose what its worker starts:
    no variables, no environment or working directory in the job, and no command but Prefect's engine
    (``ENGINE_COMMAND``, kaoping's template) (issue 24)."""
    template = template or {}
    job, variables = template.get("job_configuration") or {}, template.get("variables") or {}
    return (not variables.get("properties") and variables.get("additionalProperties") is False
            and job.get("command", ENGINE_COMMAND) == ENGINE_COMMAND
            and not any(key in job for key in ("env", "working_dir")))


def _pool_and_deployments(client, pool, cycle_deployment: str) -> list[Check]:
    from prefect.exceptions import ObjectNotFound

    create = (f"prefect work-pool create {POOL} --type process --base-job-template "
              "kaoping/data/prefect/kaoping-work-pool.json --overwrite")
    if pool is None:
        return [Check.fail(AREA, f"工作池 {POOL}", "不存在", fix=create)]
    status = str(getattr(pool.status, "value", pool.status) or "")
    checks = [] if locked_pool(pool.base_job_template) else [Check.fail(
        AREA, f"工作池 {POOL} 的作业模板", "部署或运行可以指定 worker 执行的命令、环境变量或目录（能登录 Prefect 的人可借此在 worker 上运行命令）",
        fix=create)]
    checks += [Check.ok(AREA, f"工作池 {POOL}", f"类型 {pool.type}，有 worker 在线") if status == "READY" else
              Check.fail(AREA, f"工作池 {POOL}", f"类型 {pool.type}，没有在线的 worker（{status or '未知'}）：流程不会运行",
                         fix="启动 worker：systemctl start kaoping-worker@1 kaoping-worker@2（见 deploy/systemd/）")]
    deployments = client.read_deployments()
    registered = {d.name: d for d in deployments}
    missing = [name for name, _ in shipped_deployments() if name not in registered]
    paused = [name for name, scheduled in shipped_deployments() if scheduled and name in registered
              and getattr(registered[name], "paused", False)]
    altered = altered_deployments(deployments)
    if altered:
        checks.append(Check.fail(
            AREA, "部署", "被改动：" + "；".join(altered) + "（worker 会执行部署的拉取步骤、导入其入口：能登录 Prefect 的人可借此在 "
            "worker 上运行命令）",
            fix="停止 worker，在 Prefect 界面的 Event Feed 中查明谁改的；删除不在 prefect.yaml 中的部署，再在 worker 上重新注册："
                "KAOPING_HOME=/opt/kaoping prefect --no-prompt deploy --all；并更换 Prefect 的登录凭据"))
    elif missing:
        checks.append(Check.fail(AREA, "部署", f"缺少 {'、'.join(missing)}",
                                 fix="在 worker 上：KAOPING_HOME=/opt/kaoping prefect --no-prompt deploy --all"))
    elif paused:
        checks.append(Check.warn(AREA, "部署", f"{'、'.join(paused)} 的定时已暂停：不会自动催报或收件",
                                 fix="在 Prefect 界面的 Deployments 中恢复其定时"))
    else:
        checks.append(Check.ok(AREA, "部署", f"prefect.yaml 的 {len(shipped_deployments())} 个部署都已登记，定时未暂停"))
    try:
        client.read_deployment_by_name(cycle_deployment)
    except ObjectNotFound:
        checks.append(Check.fail(AREA, "周期流程的部署", f"KAOPING_PREFECT_DEPLOYMENT={cycle_deployment} 不存在",
                                 fix="设为“流程名/部署名”，见 Prefect 界面的 Deployments"))
    return checks

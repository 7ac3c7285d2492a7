"""Setting up a database (`kaoping init`, the demo, the tests and the benchmark): the schema,
then the shipped Baotou registry and the shipped catalogs, each only if not there yet."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from kaoping import db
from kaoping.records.audit import actor_of
from kaoping.records.received import import_file
from kaoping.services.reference import catalog, registry
from kaoping.settings import Settings


def database_label(settings: Settings) -> str:
    """The database URL to show people (without its password)."""
    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


def initialize(settings: Settings, *, empty: bool = False) -> list[str]:
    """Upgrade the schema and load what kaoping ships (safe to re-run); returns what was done, line by line."""
    db.upgrade(settings)
    lines = [f"数据库结构已是最新：{db.schema_status(settings)[1]}（{database_label(settings)}）"]
    if empty:
        return lines
    actor = actor_of(settings)
    with db.session_scope(settings) as session:
        has_units = bool(registry.list_units(session))
    if has_units:
        lines.append("考评对象名录已存在，未改动（修改名录请用 `kaoping units import`）。")
    else:
        _, summary = import_file(
            settings, settings.data_dir / "registry" / "baotou.yaml", "units",
            lambda session, upload: registry.import_registry(session, upload, actor=actor),
        )
        lines.append(f"已装入包头市考评对象名录：{len(summary.created)} 个单位。")
    for path in sorted((settings.data_dir / "catalogs").glob("*.json")):
        year = int(path.stem)
        with db.session_scope(settings) as session:
            exists = catalog.current_catalog(session, year) is not None
        if exists:
            lines.append(f"{year} 年考评指标已存在，未改动。")
            continue
        _, result = import_file(
            settings, path, "catalog",
            lambda session, upload, year=year: catalog.import_catalog(session, upload, year=year, actor=actor),
        )
        lines.append(f"已装入 {year} 年考评指标：{len(result.export['indicators'])} 项。")
    return lines

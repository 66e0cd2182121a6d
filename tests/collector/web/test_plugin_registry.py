"""Plug-ins are declared by typed specs and loaded by one loader; navigation follows the routes' access.

- every module of a plug-in folder is loaded (the specs are exactly the folder's modules), and what
  they declare reaches the app (routes) and the CLI (commands);
- a module that forgets its spec stops the loader with its name instead of being skipped silently;
- a navigation link or tab is shown to a role exactly when its page lets that role in.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from collector.plugins import (
    SPEC_ATTR,
    CommandSpec,
    HookSpec,
    PageSpec,
    PluginError,
    RouterSpec,
    load,
    module_names,
)
from tests.collector.web.support import login
from tests.helpers import PASSWORD

FOLDERS: list[tuple[str, type[Any]]] = [
    ("collector.api.routers", RouterSpec),
    ("collector.web.routes", PageSpec),
    ("collector.ingest_hooks", HookSpec),
    ("collector.commands", CommandSpec),
]


@pytest.mark.parametrize(("package", "kind"), FOLDERS)
def test_every_module_of_a_plugin_folder_is_loaded(package: str, kind: type[Any]) -> None:
    names = module_names(package)
    assert names, f"{package} has no modules"
    specs = load(package, kind)
    declared = [getattr(importlib.import_module(name), SPEC_ATTR) for name in names]
    assert sorted(map(id, specs)) == sorted(map(id, declared))
    orders = [spec.order for spec in specs]
    assert orders == sorted(orders), "specs are loaded in their order"


def test_every_spec_router_is_served_and_every_command_registered() -> None:
    import typer

    from collector.app import create_app
    from collector.cli import app as cli_app
    from collector.http.access import route_table
    from collector.settings import CollectorSettings

    app = create_app(CollectorSettings(database_url="sqlite://"))
    served = {(path, method) for path, methods, _dep in route_table(app) for method in methods}
    for prefix, package, kind in [
        ("/api/v1", "collector.api.routers", RouterSpec),
        ("", "collector.web.routes", PageSpec),
    ]:
        for spec in load(package, kind):
            for route in spec.router.routes:
                for method in getattr(route, "methods", None) or ():
                    assert (prefix + route.path, method) in served, (package, route.path)
    app.state.engine.dispose()

    root = typer.main.get_command(cli_app)
    declared = {name for spec in load("collector.commands", CommandSpec) for name in spec.commands}
    assert declared <= set(root.commands)  # type: ignore[attr-defined]
    # Everything on the root is the agent, the schema command, or declared by a command module.
    assert set(root.commands) - declared == {"agent", "schema"}  # type: ignore[attr-defined]


def test_a_module_without_its_spec_stops_the_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "ww_plugins_probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(
        "from collector.plugins import HookSpec\nPLUGIN = HookSpec('good', lambda ctx: None, order=5)\n"
    )
    (pkg / "forgotten.py").write_text("def apply(ctx):\n    pass\nORDER = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(PluginError, match=r"ww_plugins_probe\.forgotten must declare PLUGIN = HookSpec"):
            load("ww_plugins_probe", HookSpec)
        (pkg / "forgotten.py").write_text("PLUGIN = 'not a spec'\n")
        for name in [m for m in sys.modules if m.startswith("ww_plugins_probe")]:
            del sys.modules[name]
        load.cache_clear()
        with pytest.raises(PluginError, match="found str"):
            load("ww_plugins_probe", HookSpec)
    finally:
        for name in [m for m in sys.modules if m.startswith("ww_plugins_probe")]:
            del sys.modules[name]
        load.cache_clear()


def test_navigation_is_shown_exactly_to_the_roles_its_page_lets_in(seeded_client: tuple[Any, Any]) -> None:
    from collector.db import session_scope
    from collector.services.users import create_user
    from collector.web.setup import device_tabs, nav_items, page_specs, site_tabs

    http, seeded = seeded_client
    with session_scope(http.app.state.engine) as s:
        create_user(s, username="inspector", password=PASSWORD, role="inspector")
    code = seeded.sites["a"]
    device_id = seeded.devices["pc-motcua-01"]
    links = [
        (link.href.replace("{code}", code).replace("{id}", str(device_id)))
        for spec in page_specs()
        for link in (*spec.nav, *spec.site_tabs, *spec.device_tabs)
    ]
    assert len(links) > 20
    for username, role in [
        ("admin", "admin"),
        ("tech", "technician"),
        ("inspector", "inspector"),
        ("planner", "planner"),
        ("viewer-a", "viewer"),
    ]:
        http.cookies.clear()
        assert login(http, username).status_code == 303
        who = SimpleNamespace(role=role)
        shown = {i.href for i in nav_items(who)}
        shown |= {i.href for i in site_tabs(who, code)} | {i.href for i in device_tabs(who, device_id)}
        for href in links:
            status = http.get(href, follow_redirects=False).status_code
            if href in shown:
                assert status == 200, (role, href, status)
            else:
                assert status == 403, (role, href, status)

"""Navigation, tabs and page contexts the page plug-ins contribute.

Other rooms plug into the console without editing shared files: each ``collector/web/routes`` module
declares ``PLUGIN = PageSpec(router, nav=..., site_tabs=..., device_tabs=..., site_context=...,
device_context=..., overview_context=...)`` (``collector.plugins``):
- ``nav``: ``Link(order, "English label", "/href")`` entries of the top navigation;
- ``site_tabs``: tabs of the site page (``{code}`` is filled in); a tab's page extends ``site_base.html``
  and fills ``site_tab``; ``device_tabs`` likewise for the device page (``{id}``, ``device_base.html``);
- who sees a link is whoever its page's route lets in (its ``allow(...)``): never written twice;
- templates in ``templates/site_extras/*.html`` and ``templates/device_extras/*.html`` are included on
  the site and device pages (sorted by name) with the page's context (``site``/``device``, ``principal``);
- ``site_context`` / ``device_context``: ``fn(session, site|device, principal) -> dict`` whose results
  are merged into that page's context, for the extras to show;
- ``overview_context``: ``fn(session, principal) -> dict`` merged into the overview's context, shown by
  ``templates/overview_extras/*.html``.
Every label goes through ``_()``; its Vietnamese lives in the room's ``locales/vi/<room>.po``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal
from urllib.parse import quote

from collector.plugins import Link, PageSpec, load

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NavItem:
    order: int
    label: str  # English; translated when shown
    href: str
    roles: tuple[str, ...]  # the roles the page's route lets in; empty: every logged-in user

    def visible_to(self, principal: Any) -> bool:
        return principal is not None and (not self.roles or str(principal.role) in self.roles)


@cache
def page_specs() -> tuple[PageSpec, ...]:
    """Every page module's spec, in order (``collector.plugins``)."""
    return load("collector.web.routes", PageSpec)


def _template(path: str) -> str:
    # "/sites/{code}/lan?x={code}" and the route "/sites/{site_code}/lan" compare equal.
    return re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


@cache
def _page_roles() -> dict[str, tuple[str, ...]]:
    """GET page path template -> the roles its ``allow(...)`` lets in (() for ``public``)."""
    from collector.http.guard import route_access

    roles: dict[str, tuple[str, ...]] = {}
    for spec in page_specs():
        for route in spec.router.routes:
            dependant = getattr(route, "dependant", None)
            path = getattr(route, "path", None)
            if dependant is None or path is None or "GET" not in (getattr(route, "methods", None) or ()):
                continue
            access = route_access(dependant)
            if access is not None:
                kind, allowed = access
                roles[_template(path)] = tuple(str(r) for r in allowed) if kind == "roles" else ()
    return roles


def link_roles(href: str) -> tuple[str, ...]:
    """Who sees a link: whoever the linked page's route lets in. A link to no page is a bug."""
    try:
        return _page_roles()[_template(href)]
    except KeyError:
        raise LookupError(f"navigation link {href!r} leads to no page route") from None


def _items(links: list[Link]) -> list[NavItem]:
    items = [NavItem(link.order, link.label, link.href, link_roles(link.href)) for link in links]
    return sorted(items, key=lambda i: (i.order, i.href))


def nav_items(principal: Any) -> list[NavItem]:
    return [i for i in _items([link for s in page_specs() for link in s.nav]) if i.visible_to(principal)]


def site_tabs(principal: Any, code: str) -> list[NavItem]:
    return [
        NavItem(i.order, i.label, i.href.replace("{code}", quote(code, safe="")), i.roles)
        for i in _items([link for s in page_specs() for link in s.site_tabs])
        if i.visible_to(principal)
    ]


def device_tabs(principal: Any, device_id: int) -> list[NavItem]:
    return [
        NavItem(i.order, i.label, i.href.replace("{id}", str(device_id)), i.roles)
        for i in _items([link for s in page_specs() for link in s.device_tabs])
        if i.visible_to(principal)
    ]


def extra_context(
    kind: Literal["site_context", "device_context", "overview_context"], *args: Any
) -> dict[str, Any]:
    """Merge what every page spec's ``kind`` contributors (``site_context``, ``device_context``,
    ``overview_context``) return for this page.

    One failing contributor must not take the page down: its part is left out and logged.
    """
    merged: dict[str, Any] = {}
    for spec in page_specs():
        for fn in getattr(spec, kind):
            try:
                merged.update(fn(*args) or {})
            except Exception:
                log.exception("page context contributor %s failed", getattr(fn, "__qualname__", fn))
    return merged

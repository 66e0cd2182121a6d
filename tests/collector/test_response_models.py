"""Every JSON route of the API declares what it answers (``response_model``), so the OpenAPI document
describes each answer's fields instead of an open object."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from fastapi.routing import APIRoute

from collector.plugins import RouterSpec, load


def _open(model: Any) -> bool:
    """True for dict[str, Any] (or a list of them) and for no model at all."""
    if model is None:
        return True
    if get_origin(model) is list:
        return _open(get_args(model)[0])
    return get_origin(model) is dict and Any in get_args(model)


def test_every_json_api_route_declares_its_answer() -> None:
    missing = []
    for spec in load("collector.api.routers", RouterSpec):
        for route in spec.router.routes:
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            # Files, PDFs and PEM answers declare their media types instead; 204s answer nothing.
            non_json = route.status_code == 204 or route.responses.get(200, {}).get("content")
            if route.status_code is None and route.response_model is None:
                declared = route.response_class
                non_json = non_json or declared is not None and "json" not in str(declared)
            if not non_json and _open(route.response_model):
                missing.append(f"{sorted(route.methods)[0]} {route.path} ({route.endpoint.__module__})")
    assert not missing, "routes answering JSON without a response_model:\n" + "\n".join(missing)

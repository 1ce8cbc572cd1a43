"""Routes are matched in the order the app includes them, and the hot ones come first
(app.main.create_app): that order must never decide which route answers a request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import Match

from app.main import create_app


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _routes(original.routes)
        elif getattr(route, "methods", None):
            yield route


def _paths(route: Any) -> list[str]:
    """Concrete paths of the route: its parameters filled with a number and with a word (a word
    may not fit an int parameter: then the route itself does not match it, and it is skipped)."""
    return [re.sub(r"\{[^}]+\}", fill, route.path) for fill in ("7", "word")]


@pytest.fixture(scope="module")
def routes() -> list[Any]:
    return list(_routes(create_app().router.routes))


def test_no_route_is_shadowed_by_one_matched_before_it(routes):
    assert len(routes) > 150
    shadowed = []
    for route in routes:
        for path in _paths(route):
            for method in sorted(route.methods - {"HEAD"}):
                scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": []}
                if route.matches(scope)[0] != Match.FULL:
                    continue
                first = next(r for r in routes if r.matches(scope)[0] == Match.FULL)
                if first is not route:
                    shadowed.append(f"{method} {path}: {route.path} is answered by {first.path}")
    assert not shadowed, shadowed


def test_the_hot_paths_come_first(routes):
    paths = [r.path for r in routes]
    assert paths.index("/webhooks/shopify/{store_slug}") < 5
    first_desk = {"/queues/counts", "/tickets/{ticket_id}", "/tickets/{ticket_id}/presence", "/"}
    assert all(paths.index(p) < 60 for p in first_desk), [(p, paths.index(p)) for p in first_desk]

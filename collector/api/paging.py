"""How an API list answers a page: the rows in the body, the way on in headers.

``X-Next-Cursor`` (and ``Link: <...>; rel="next"``) carry the cursor of the next page; ``X-Total-Count``
says how many rows match the filters, or, past 10,000, ``X-Total-Count-Over: 10000`` says more do.
A client repeats its request with ``cursor=`` until no next cursor comes back. Errors in
``cursor``/filters are 400s that say what was wrong; a ``sort`` that is not one of the table's keys is
refused by its schema (422), with a message that lists the keys.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request, Response

from collector.http.params import explained_query
from collector.services.errors import ServiceError
from collector.services.paging import Page


def set_page_headers(request: Request, response: Response, page: Page) -> None:
    if page.total is not None:
        response.headers["X-Total-Count"] = str(page.total)
    elif page.total_over is not None:
        # More rows match than are counted (collector.services.paging.TOTAL_CAP): a lower bound.
        response.headers["X-Total-Count-Over"] = str(page.total_over)
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        url = request.url.path + "?" + urlencode([*params, ("cursor", page.next_cursor)])
        response.headers["Link"] = f'<{url}>; rel="next"'


def bad_request(exc: ServiceError) -> HTTPException:
    return HTTPException(exc.status_code, str(exc))


def sort_query(table: Any) -> Any:
    """The ``sort`` parameter of a table's list: one of its sort keys, ``-key`` for descending."""
    names = table.sorting.names()
    known = ", ".join(names)
    pattern = r"^\s*[-+]*(" + "|".join(re.escape(n) for n in names) + r")\s*$"
    return explained_query(
        None,
        pattern=pattern,
        explain=lambda value: f"cannot sort by {value!r}; sort by one of: {known} (-x: descending)",
        description=f"{known}; -x: descending",
    )

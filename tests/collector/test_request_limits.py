"""Bodies are read only for callers who may send them, and only up to their route class's limit.

The app is driven through ASGI directly, with a ``receive`` that counts the chunks the collector
pulls: "refused before anything is read" is then a number, and so is "nothing was spooled to disk"
(Starlette spools uploaded files through ``SpooledTemporaryFile``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.helpers import user_token

CHUNK = 64 * 1024


class Upload:
    """One request through the app; what it read and what it answered."""

    def __init__(self, app: Any, path: str, *, chunks: int, headers: dict[str, str]) -> None:
        self.chunks_sent = 0
        self.messages: list[dict[str, Any]] = []
        boundary = b"----wardwatch"
        head = (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="item_id"\r\n\r\nA1\r\n'
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        self.parts = [head] + [b"\xff" * CHUNK] * chunks + [b"\r\n--" + boundary + b"--\r\n"]
        all_headers = {"content-type": f"multipart/form-data; boundary={boundary.decode()}", **headers}
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        asyncio.run(app(self.scope, self.receive, self.send))

    async def receive(self) -> dict[str, Any]:
        if self.chunks_sent >= len(self.parts):
            return {"type": "http.disconnect"}
        body = self.parts[self.chunks_sent]
        self.chunks_sent += 1
        return {"type": "http.request", "body": body, "more_body": self.chunks_sent < len(self.parts)}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return self.messages[0]["status"]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


@pytest.fixture
def spooled(monkeypatch):  # type: ignore[no-untyped-def]
    """How many upload files Starlette spooled."""
    import starlette.formparsers as fp

    made: list[object] = []
    real = fp.SpooledTemporaryFile

    def counting(*a: Any, **kw: Any) -> Any:
        made.append(object())
        return real(*a, **kw)

    monkeypatch.setattr(fp, "SpooledTemporaryFile", counting)
    return made


def test_anonymous_uploads_are_refused_before_the_body_is_read(app, spooled):
    # 20 MiB, declared as chunked (no Content-Length): only reading would find out its size.
    for path in ("/api/v1/inspections/1/photos", "/api/v1/users", "/inspections"):
        up = Upload(app, path, chunks=320, headers={})
        assert up.status in (401, 303), (path, up.status)
        assert up.chunks_sent == 0, (path, up.chunks_sent)
    wrong = Upload(app, "/api/v1/inspections/1/photos", chunks=320, headers={"authorization": "Bearer nope"})
    assert wrong.status == 401 and wrong.chunks_sent == 0
    assert spooled == []


def test_a_role_that_may_not_upload_is_refused_before_the_body_is_read(client, app, spooled):
    viewer = user_token(client, app.state.engine, username="v", role="viewer")
    up = Upload(app, "/api/v1/inspections/1/photos", chunks=320, headers=viewer)
    assert up.status == 403 and up.chunks_sent == 0 and spooled == []


def test_each_route_class_has_its_limit_counted_while_streaming(client, app, spooled):
    inspector = user_token(client, app.state.engine, username="i", role="inspector")
    # A photo of 5 MiB is within the photo class (it then gets a 404: no inspection 1 here)...
    up = Upload(app, "/api/v1/inspections/1/photos", chunks=80, headers=inspector)
    assert up.status == 404, up.body
    # ...the same bytes to a route of the "other" class stop at the 1 MiB limit, mid-stream.
    admin = user_token(client, app.state.engine, username="a", role="admin")
    up = Upload(app, "/api/v1/users", chunks=80, headers=admin)
    assert up.status == 413 and b"1048576 bytes" in up.body
    assert up.chunks_sent <= 1 + 1024 * 1024 // CHUNK + 1
    # Past the photo limit: refused at the chunk that crosses it, not after the whole body.
    up = Upload(app, "/api/v1/inspections/1/photos", chunks=400, headers=inspector)
    assert up.status == 413 and up.chunks_sent < 200


def test_a_declared_length_over_the_limit_is_refused_up_front(client, app):
    admin = user_token(client, app.state.engine, username="a", role="admin")
    up = Upload(app, "/api/v1/users", chunks=20, headers={**admin, "content-length": str(20 * CHUNK)})
    assert up.status == 413 and up.chunks_sent == 0
    # A person sending a form too large gets the console's page, in Vietnamese by default.
    page = client.post(
        "/planning/import/apply",
        content=b"csv_text=" + b"x" * (17 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 413 and "Quá lớn" in page.text

"""Publishing an inspection notifies the subscribers of its site (the event is written with the
publication), and nobody whose scope leaves the site out. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from collector.services.notify_sender import Sender
from tests.collector.inspections.support import publish
from tests.helpers import user_token
from tests.notify_servers import webhook_receiver


def test_publishing_an_inspection_reaches_the_sites_webhook_subscribers(client, app, seeded):  # type: ignore[no-untyped-def]
    engine = app.state.engine
    url = "/api/v1/notifications/subscriptions"
    with webhook_receiver() as hook:
        tech = user_token(client, engine, username="ktv-p01", sites=["P01"])
        elsewhere = user_token(client, engine, username="ktv-x02", sites=["X02"])
        for headers in (tech, elsewhere):
            body = {"event": "inspection.published", "channel": "webhook", "target": hook.url}
            assert client.post(url, json=body, headers=headers).status_code == 201
        pub = publish(client, seeded)
        Sender(engine, app.state.settings).run_once()
        [(headers, body, status)] = hook.calls
    doc = json.loads(body)
    assert doc["event"] == "inspection.published" and doc["site"]["code"] == "P01"
    assert doc["data"]["slug"] == pub["slug"] and doc["url"].endswith(f"/published/{pub['slug']}")
    assert doc["summary"].startswith("[P01] Đã công bố kết quả kiểm tra:")

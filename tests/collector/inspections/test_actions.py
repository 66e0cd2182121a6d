"""Actions carried from one inspection to the next: each piece of work followed once, never revived."""

from __future__ import annotations

from collections import Counter

from tests.collector.inspections.support import create, op, signed_with_failures


def move(client, headers, action_id, status):  # type: ignore[no-untyped-def]
    r = client.patch(f"/api/v1/actions/{action_id}", json={"status": status}, headers=headers)
    assert r.status_code == 200, r.text


def test_a_verified_follow_up_is_not_revived_by_the_next_inspection(client, seeded):
    signed_with_failures(client, seeded, {"offline_backup"})
    second = create(client, seeded.inspector)
    backup = next(a for a in second["actions"] if a["item_id"] == "offline_backup")
    move(client, seeded.technician, backup["id"], "done")
    move(client, seeded.inspector, backup["id"], "verified")
    third = create(client, seeded.inspector)
    items = Counter(a["item_id"] for a in third["actions"])
    assert "offline_backup" not in items  # fixed and verified: no longer followed
    assert items["firewall"] == 1 and items["antivirus"] == 1  # still open: carried once each


def test_open_actions_list_each_piece_of_work_once(client, seeded):
    signed_with_failures(client, seeded, {"offline_backup"})
    create(client, seeded.inspector)  # carries the open actions
    create(client, seeded.inspector)  # and again
    r = client.get("/api/v1/actions", params={"site": "P01", "open_only": "true"}, headers=seeded.technician)
    assert r.status_code == 200
    counts = Counter(a["item_id"] for a in r.json())
    assert counts == {"offline_backup": 1, "firewall": 1, "antivirus": 1}
    # The full history still has every copy.
    everything = client.get("/api/v1/actions", params={"site": "P01"}, headers=seeded.technician).json()
    assert Counter(a["item_id"] for a in everything)["offline_backup"] == 3


def test_a_note_differing_only_in_surrounding_spaces_is_not_a_conflict(client, seeded):
    insp = create(client, seeded.inspector)
    url = f"/api/v1/inspections/{insp['id']}/sync"
    first = client.post(
        url, json={"ops": [op("logging", "pass", "sổ nhật ký đầy đủ")]}, headers=seeded.inspector
    )
    assert first.json()["results"][0]["outcome"] == "applied"
    # The same answer typed on a second phone that loaded the page before the first change.
    again = client.post(
        url, json={"ops": [op("logging", "pass", "  sổ nhật ký đầy đủ \n", base=0)]}, headers=seeded.admin
    )
    assert again.json()["results"][0]["outcome"] == "applied"

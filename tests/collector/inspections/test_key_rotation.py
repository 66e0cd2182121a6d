"""Key rotation: the publishing key rotates, every signature names its key, and a report published
before the rotation still verifies (keyring at /.well-known, and `wardwatch verify`)."""

from __future__ import annotations

from tests.collector.inspections.support import publish, verify_with_cli, wardwatch_cli


def test_rotating_the_publishing_key_keeps_old_publications_verifiable(client, seeded, app, tmp_path):  # type: ignore[no-untyped-def]
    data_dir = app.state.settings.data_dir
    old = publish(client, seeded)
    old_key = client.get("/.well-known/wardwatch-publishing-key.pem").content
    old_sig = client.get(old["signature"]).content
    assert old_sig.startswith(b"wardwatch-signature: ed25519 key_id=")

    rotated = wardwatch_cli("keys", "rotate", "publishing", "--data-dir", str(data_dir))
    assert rotated.returncode == 0, rotated.stderr
    new = publish(client, seeded)
    new_sig = client.get(new["signature"]).content
    assert new_sig.splitlines()[0] != old_sig.splitlines()[0]  # each names its own key
    assert client.get("/.well-known/wardwatch-publishing-key.pem").content != old_key

    keyring = client.get("/.well-known/wardwatch-publishing-keys.pem")
    assert keyring.status_code == 200 and keyring.content.count(b"BEGIN PUBLIC KEY") == 2
    for pub in (old, new):
        for fmt, sig_url in (
            ("json", pub["signature"]),
            ("pdf", pub["signature"].replace(".json.", ".pdf.")),
        ):
            body = client.get(pub["json"].replace(".json", f".{fmt}")).content
            signature = client.get(sig_url).content
            ok = verify_with_cli(
                tmp_path / pub["slug"] / fmt,
                f"r.{fmt}",
                body,
                signature,
                keyring.content,
                "wardwatch-publishing-keys.pem",
            )
            assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stderr

    # With only today's key, the old report cannot verify, and the message says where the old key is.
    current_only = client.get("/.well-known/wardwatch-publishing-key.pem").content
    body = client.get(old["json"]).content
    bad = verify_with_cli(
        tmp_path / "current-only", "r.json", body, old_sig, current_only, "wardwatch-publishing-key.pem"
    )
    assert bad.returncode == 1 and "/.well-known/wardwatch-publishing-keys.pem" in bad.stderr

    listed = wardwatch_cli("keys", "list", "--data-dir", str(data_dir))
    assert listed.stdout.count("publishing ") == 2 and "retired" in listed.stdout

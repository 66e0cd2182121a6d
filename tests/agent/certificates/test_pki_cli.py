"""``wardwatch agent certs`` and the agent cycle's ``collect_certificates`` on real files and servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.certificates.collect import collect_certificates
from agent.cli import app
from agent.config import AgentSettings
from checks.runner import run_checks
from inventory.facts import Facts
from tests.pki_factory import Pki, TlsServer, blank_pdf, sign_pdf

runner = CliRunner()


@pytest.fixture
def folder(pki: Pki, tmp_path: Path) -> Path:
    d = tmp_path / "ChungThu"
    d.mkdir()
    (d / "an.cer").write_bytes(pki.leaves["valid"].der)
    (d / "binh-het-han.pem").write_bytes(pki.leaves["expired"].pem)
    (d / "ca-trung-gian.crt").write_bytes(pki.inter.pem)
    (d / "QD-12.pdf").write_bytes(sign_pdf(blank_pdf(), pki.leaves["valid"], [pki.inter, pki.root]))
    return d


@pytest.fixture
def root_pem(pki: Pki, tmp_path: Path) -> Path:
    f = tmp_path / "root.pem"
    f.write_bytes(pki.root.pem)
    return f


def test_cli_json_one_entry_per_certificate_and_signature(
    folder: Path, root_pem: Path, pki: Pki, tmp_path: Path
) -> None:
    server = TlsServer([pki.tls["hostname_mismatch"], pki.inter], tmp_path)
    try:
        res = runner.invoke(
            app, ["certificates", str(folder), server.target, "--trust", str(root_pem), "--json"]
        )
    finally:
        server.close()
    assert res.exit_code == 1, res.output  # the expired certificate and the name mismatch are problems
    data = json.loads(res.stdout)
    by = {(e["kind"], e["target"]): e for e in data["entries"]}
    assert by[("certificate", "Nguyen Van A")]["verdict"] == "valid"
    assert by[("certificate", "Tran Thi B")]["verdict"] == "expired"
    assert by[("certificate", "WW Test Signing CA")]["verdict"] == "ca_certificate"
    [sig] = [e for e in data["entries"] if e["kind"] == "signature"]
    assert sig["verdict"] == "valid" and sig["target"].endswith("QD-12.pdf#ChuKy1")
    tls = by[("tls", server.target)]
    assert tls["verdict"] == "hostname_mismatch" and "does not name 127.0.0.1" in tls["reasons"][0]


def test_cli_table_and_untrusted_without_trust(folder: Path) -> None:
    res = runner.invoke(app, ["certificates", str(folder / "an.cer")])
    assert res.exit_code == 1
    assert "untrusted" in res.stdout and "Nguyen Van A" in res.stdout


def test_cli_all_good_exits_zero(folder: Path, root_pem: Path) -> None:
    res = runner.invoke(
        app,
        ["certificates", str(folder / "an.cer"), str(folder / "ca-trung-gian.crt"), "--trust", str(root_pem)],
    )
    assert res.exit_code == 0, res.stdout


def test_cli_bad_target(tmp_path: Path) -> None:
    res = runner.invoke(app, ["certificates", str(tmp_path / "khong-co")])
    assert res.exit_code == 2
    assert "not a file, a folder, host:port or an https:// URL" in res.output


def test_collect_certificates_for_the_agent_cycle(
    folder: Path, root_pem: Path, pki: Pki, tmp_path: Path
) -> None:
    server = TlsServer([pki.tls["valid"], pki.inter], tmp_path, hsts="max-age=63072000")
    try:
        settings = AgentSettings(
            state_dir=tmp_path / "state",
            certs={
                "folders": [str(folder)],
                "document_folders": [str(folder)],
                "tls_endpoints": [f"https://127.0.0.1:{server.port}/"],
                "extra_trust_anchors": [str(root_pem)],
                "include_system_store": False,
                "include_personal_stores": False,
            },
        )
        facts = collect_certificates(settings)
    finally:
        server.close()
    assert facts is not None
    signing = {c.subject_cn: c for c in facts.certificates if c.validation is not None}
    assert signing["Nguyen Van A"].validation.status.value == "valid"  # type: ignore[union-attr]
    assert signing["Tran Thi B"].validation.status.value == "expired"  # type: ignore[union-attr]
    assert list((tmp_path / "state" / "crl").glob("*.crl")), "CRLs cached in the agent's state directory"
    [ep] = facts.tls_endpoints
    assert ep.verified and ep.hsts is True
    assert facts.documents[0].status.value == "valid"
    results = run_checks(Facts(certificates=facts), modules=["certs"])
    failing = {(r.check_id, r.target) for r in results if r.status.value == "fail"}
    assert ("cert.signing.validity", f"Tran Thi B [{signing['Tran Thi B'].sha256[:16]}]") in failing
    assert not any(cid.startswith(("cert.tls", "doc.")) for cid, _ in failing), failing
    # The section travels in a report and back unchanged.
    from inventory.certificates.facts import CertificateFacts

    assert CertificateFacts.model_validate_json(facts.model_dump_json()) == facts


def test_disabled_module_collects_nothing(tmp_path: Path) -> None:
    assert collect_certificates(AgentSettings(state_dir=tmp_path, certs={"enabled": False})) is None


def test_a_certificate_ending_in_4_days_is_expiring_not_valid(
    pki: Pki, root_pem: Path, tmp_path: Path
) -> None:
    import datetime as dt

    from tests.pki_factory import issue

    soon = issue(
        "Truong Van M",
        issuer=pki.inter,
        not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=4, hours=1),
        crl_url=pki.server.url("/inter.crl"),
    )
    (tmp_path / "m.cer").write_bytes(soon.der)
    (tmp_path / "inter.crt").write_bytes(pki.inter.pem)
    target = [str(tmp_path / "m.cer"), str(tmp_path / "inter.crt"), "--trust", str(root_pem)]
    res = runner.invoke(app, ["certificates", *target, "--json"])
    entry = next(e for e in json.loads(res.stdout)["entries"] if e["target"] == "Truong Van M")
    assert entry["verdict"] == "expiring" and entry["days_left"] == 4
    assert "expires in 4 days" in entry["reasons"]
    assert res.exit_code == 1  # something to act on
    table = runner.invoke(app, ["certificates", *target], env={"COLUMNS": "200"})
    row = next(line for line in table.stdout.splitlines() if "Truong Van M" in line)
    assert "expiring" in row and "(4 d)" in row and "expires in 4 days" in row

    def verdict(*extra: str) -> tuple[str, int]:
        res = runner.invoke(app, ["certificates", *target, "--json", *extra])
        entry = next(e for e in json.loads(res.stdout)["entries"] if e["target"] == "Truong Van M")
        return entry["verdict"], res.exit_code

    # The threshold is configurable: with 3 days it is still plainly valid.
    assert verdict("--expiring-days", "3") == ("valid", 0)
    # ... and from the agent's configuration ([certificates] expiring_days).
    config = tmp_path / "agent.toml"
    config.write_text("[certificates]\nexpiring_days = 2\n")
    assert verdict("--config", str(config)) == ("valid", 0)

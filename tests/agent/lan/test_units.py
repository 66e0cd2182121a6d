"""The OUI table, the SNMP messages (checked against scapy's independent SNMP codec), the state files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scapy.asn1.asn1 import ASN1_OID, ASN1_STRING
from scapy.layers.snmp import SNMP, SNMPresponse, SNMPvarbind

from agent.lan import snmp
from agent.lan.store import latest_scan, previous_gateway_macs, save_scan
from inventory.lan import LanHost, LanScanFacts
from inventory.oui import is_locally_administered, normalize_mac, vendor_for


def test_vendor_lookup_longest_prefix_first() -> None:
    assert vendor_for("00:0C:42:01:02:03") == "Routerboard.com"  # MA-L
    assert vendor_for("00-00-0c-aa-bb-cc") == "Cisco Systems"
    assert vendor_for("70:b3:d5:f2:f0:01") == "TELEPLATFORMS"  # MA-S (36-bit) inside an RA block
    assert vendor_for("02:00:c6:12:00:05") is None  # locally administered
    assert vendor_for("not a mac") is None
    assert is_locally_administered("da:a1:19:00:00:01")
    assert normalize_mac("000c.42aa.bbcc") == "00:0c:42:aa:bb:cc"


def test_oui_table_keeps_its_source_and_notice() -> None:
    here = Path(__file__).resolve().parents[3] / "inventory" / "oui"
    head = (here / "oui.txt").read_text(encoding="utf-8")[:400]
    assert "IEEE Registration Authority" in head and "ieee-data" in head
    notice = (here / "NOTICE.txt").read_text(encoding="utf-8")
    assert "IEEE does not assert any copyright" in notice


def test_snmp_request_is_read_by_scapy() -> None:
    pkt = SNMP(snmp.get_request("public", 4242))
    assert pkt.community.val == b"public"
    assert pkt.PDU.id.val == 4242
    assert pkt.PDU.varbindlist[0].oid.val == "1.3.6.1.2.1.1.1.0"


def test_snmp_response_from_scapy_is_parsed() -> None:
    raw = bytes(
        SNMP(
            version=1,
            community="private",
            PDU=SNMPresponse(
                id=77,
                varbindlist=[
                    SNMPvarbind(oid=ASN1_OID("1.3.6.1.2.1.1.1.0"), value=ASN1_STRING(b"RouterOS RB750Gr3"))
                ],
            ),
        )
    )
    r = snmp.parse_response(raw)
    assert (r.community, r.request_id, r.error_status, r.value) == ("private", 77, 0, "RouterOS RB750Gr3")


def test_state_dir_round_trip(tmp_path: Path) -> None:
    assert latest_scan(tmp_path) is None
    facts = LanScanFacts(
        cidr="198.18.0.0/24",
        gateway_ip="198.18.0.1",
        gateway_mac="00:0c:42:11:22:33",
        finished_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        hosts=[LanHost(ip="198.18.0.1", mac="00:0c:42:11:22:33", is_gateway=True)],
    )
    save_scan(tmp_path, facts)
    assert latest_scan(tmp_path) == facts
    assert previous_gateway_macs(tmp_path) == {"198.18.0.1": "00:0c:42:11:22:33"}
    (tmp_path / "lan" / "latest.json").write_text("{broken")
    assert latest_scan(tmp_path) is None


def test_reverse_dns_names_what_answers_and_skips_what_does_not() -> None:
    import socket
    import time

    from agent.lan.probes import ReverseDns

    expected = socket.gethostbyaddr("127.0.0.1")[0]  # the system's own answer (/etc/hosts)
    names = ReverseDns(["127.0.0.1", "198.18.255.254"]).collect(deadline=time.monotonic() + 3)
    assert names.get("127.0.0.1") == expected
    assert "198.18.255.254" not in names

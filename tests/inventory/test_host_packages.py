"""Installed software on an rpm system (RHEL, Rocky, openSUSE): replayed from recorded `rpm -qa` output.

This machine is Debian, so the dpkg path is compared with the live database in test_host_live.py;
the rpm path is exercised here with a stand-in `rpm` on a PATH that has no dpkg-query.
"""

from __future__ import annotations

import sys
from datetime import date

import pytest

from inventory.host import linux
from inventory.host.commands import CommandError

# Recorded on Rocky Linux 9.4 with the query format the collector asks for
# (NAME \t VERSION-RELEASE \t VENDOR \t INSTALLTIME); gpg-pubkey rows are keys, not software.
RPM_QA = (
    "bash\t5.1.8-9.el9\tRocky Enterprise Software Foundation\t1715241600\n"
    "gpg-pubkey\t350d275d-6279464b\t(none)\t1715241601\n"
    "kernel-core\t5.14.0-427.13.1.el9_4\tRocky Enterprise Software Foundation\t1715241700\n"
    "vendor-less-tool\t1.0-1\t(none)\t(none)\n"
)

_FAKE_RPM = f"""
import sys
if sys.argv[1:3] != ["-qa", "--qf"]:
    sys.exit("unexpected arguments: " + " ".join(sys.argv[1:]))
sys.stdout.write({RPM_QA!r})
"""


@pytest.fixture
def rpm_only(fake_bin, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A PATH holding only a recorded `rpm`: no dpkg-query, as on an rpm distribution."""
    rpm = fake_bin("rpm", _FAKE_RPM)
    monkeypatch.setenv("PATH", str(rpm.parent))
    return rpm


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the Linux collector")
def test_software_from_rpm_when_there_is_no_dpkg(rpm_only) -> None:  # type: ignore[no-untyped-def]
    got = {s.name: s for s in linux.software()}
    assert set(got) == {"bash", "kernel-core", "vendor-less-tool"}
    bash = got["bash"]
    assert bash.version == "5.1.8-9.el9" and bash.source == "rpm"
    assert bash.vendor == "Rocky Enterprise Software Foundation"
    assert bash.install_date == date(2024, 5, 9)
    assert got["vendor-less-tool"].vendor is None and got["vendor-less-tool"].install_date is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the Linux collector")
def test_no_package_database_is_a_clear_error(fake_bin, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = fake_bin("true", "")
    monkeypatch.setenv("PATH", str(empty.parent))
    with pytest.raises(CommandError, match="neither dpkg-query nor rpm"):
        linux.software()

"""psutil's way: the platform modules expose the same functions; one failing section costs only itself."""

from __future__ import annotations

import inspect
import logging
import sys
from types import ModuleType

import pytest

import inventory.host as host
from inventory.host import linux, windows


def public_functions(module: ModuleType) -> set[str]:
    return {
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == module.__name__
    }


def test_linux_and_windows_expose_the_same_functions() -> None:
    assert public_functions(linux) == public_functions(windows)
    assert set(host.PLATFORM_FUNCTIONS) <= public_functions(linux)


@pytest.mark.parametrize("name", host.PLATFORM_FUNCTIONS)
def test_platform_functions_take_no_arguments(name: str) -> None:
    for module in (linux, windows):
        assert not inspect.signature(getattr(module, name)).parameters, f"{module.__name__}.{name}"


def test_every_fact_section_has_a_producer() -> None:
    from inventory.facts import Facts

    for section, _ in host.SECTIONS:
        assert section in Facts.model_fields


def test_other_platforms_get_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert host._choose("darwin") is None
    monkeypatch.setattr(host, "_platform", None)
    with pytest.raises(host.UnsupportedPlatformError, match="Linux and Windows"):
        host.collect_host_facts()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the Linux collector")
def test_a_failing_section_leaves_the_others_intact(fake_bin, caplog: pytest.LogCaptureFixture) -> None:
    # The package database is broken: dpkg-query fails. Only the software section is lost.
    broken = "import sys\nsys.stderr.write('dpkg-query: error: parsing file status\\n')\nsys.exit(2)\n"
    fake_bin("dpkg-query", broken)
    with caplog.at_level(logging.WARNING, logger="inventory.host"):
        facts = host.collect_host_facts()
    assert facts.software is None
    assert facts.system is not None and facts.cpu is not None and facts.memory is not None
    assert facts.disks is not None and facts.network_interfaces is not None and facts.users is not None
    assert any("software" in r.getMessage() and "dpkg-query" in r.getMessage() for r in caplog.records)

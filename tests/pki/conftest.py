"""Session-scoped real PKI (generated once) and the HTTP server that serves its CRLs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pki.pki_factory import FileServer, Pki, build_pki

pytest.importorskip("pyhanko_certvalidator", reason="the signatures extra (pyhanko) is not installed")


@pytest.fixture(scope="session")
def crl_server() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def pki(crl_server: FileServer) -> Pki:
    return build_pki(crl_server)

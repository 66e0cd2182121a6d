"""Session-scoped real PKI (generated once, tests/pki_factory.py) and the HTTP server that serves its CRLs."""

import pytest

pytest.importorskip("pyhanko_certvalidator", reason="the signatures extra (pyhanko) is not installed")

from tests.pki_factory import crl_server, pki  # noqa: F401  (fixtures)

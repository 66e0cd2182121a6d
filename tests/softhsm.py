"""A real PKCS#11 token for tests: SoftHSM2, with a token directory of the test's own.

SoftHSM reads ``SOFTHSM2_CONF`` once, in C_Initialize, and python-pkcs11 keeps one loaded module per
process (``pkcs11.lib(path)`` returns the module it loaded first). A test that made its token after an
earlier test in the same process had loaded SoftHSM saw only the earlier test's token directory: CI failed
with ``NoSuchToken: No token matching {'token_label': 'VNPT-CA Token'}`` once the signing tests ran first.
``SoftHsm.refresh`` re-initialises the loaded module, so the process reads this test's configuration and
tokens whatever ran before (and each pytest-xdist worker has its own directories).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE = next(
    (
        p
        for p in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
        if os.path.exists(p)
    ),
    None,
)
PIN, SO_PIN = "1234", "5678"


@dataclass
class SoftHsm:
    module: str
    conf: Path
    workdir: Path

    def token(self, label: str) -> None:
        """An initialised, empty token ``label`` (user PIN ``PIN``)."""
        self._run(
            "softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN
        )
        self.refresh()

    def import_key(self, token: str, key_pem: bytes, *, label: str, object_id: str) -> None:
        key = self.workdir / f"{label}.key.pem"
        key.write_bytes(key_pem)
        try:
            self._run(
                "softhsm2-util", "--import", str(key), "--token", token, "--label", label, "--id", object_id,
                "--pin", PIN,
            )  # fmt: skip
        finally:
            key.unlink()
        self.refresh()

    def write_certificate(self, token: str, der: bytes, *, label: str, object_id: str) -> None:
        """A certificate object written by pkcs11-tool (OpenSC), as a vendor's tool would."""
        if shutil.which("pkcs11-tool") is None:
            pytest.skip("pkcs11-tool not installed (apt-get install opensc)")
        path = self.workdir / f"{label}.der"
        path.write_bytes(der)
        self._run(
            "pkcs11-tool", "--module", self.module, "--token-label", token, "--login", "--pin", PIN,
            "--write-object", str(path), "--type", "cert", "--label", label, "--id", object_id,
        )  # fmt: skip
        self.refresh()

    def refresh(self) -> None:
        """Make this process's SoftHSM (if python-pkcs11 loaded it) read ``conf`` and the tokens again."""
        if "pkcs11" in sys.modules:
            import pkcs11

            pkcs11.lib(self.module).reinitialize()

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            argv, capture_output=True, text=True, env={**os.environ, "SOFTHSM2_CONF": str(self.conf)}
        )
        assert done.returncode == 0, f"{argv[0]} {argv[1]}: {done.stdout} {done.stderr}"


def make_softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    """SoftHSM with a token directory under ``tmp_path``, ``SOFTHSM2_CONF`` pointing at it."""
    pytest.importorskip("pkcs11", reason="python-pkcs11 (the pkcs11 extra) not installed")
    if MODULE is None or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 not installed (apt-get install softhsm2)")
    workdir = tmp_path / "softhsm"
    (workdir / "tokens").mkdir(parents=True)
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {workdir / 'tokens'}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    hsm = SoftHsm(module=MODULE, conf=conf, workdir=workdir)
    hsm.refresh()
    return hsm

"""The reverse-proxy recipe (deploy/nginx-wardwatch.conf) with Debian's nginx in front of `wardwatch serve`.

nginx terminates TLS and verifies agents' client certificates; the collector believes the forwarded
headers (scheme, client address, certificate) only from the proxy's address. The proxy connects from
127.0.0.2 here, so a client on 127.0.0.1 that sends the same headers directly is not believed.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from agent import client_cert
from agent.delivery import Deliverer, enroll
from agent.spool import Spool
from collector.db import make_engine
from tests.agent.support import agent_settings, small_report
from tests.e2e.deploy.support import make_server_pki, wait_until, wardwatch_serve
from tests.helpers import free_port, seed_site

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PROXY_ADDRESS = "127.0.0.2"

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (apt install nginx)")


def nginx_conf(
    root: Path, *, https_port: int, http_port: int, upstream: int, pki: Any, ca: Path, crl: Path
) -> Path:
    site = (DEPLOY / "nginx-wardwatch.conf").read_text()
    for old, new in {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
        "/etc/wardwatch/tls/server.pem": str(pki.cert),
        "/etc/wardwatch/tls/server.key": str(pki.key),
        "/var/lib/wardwatch-collector/keys/agent-ca-cert.pem": str(ca),
        "/etc/wardwatch/tls/agent-crl.pem": str(crl),
        "proxy_pass http://wardwatch_collector;": (
            f"proxy_pass http://wardwatch_collector;\n        proxy_bind {PROXY_ADDRESS};"
        ),
    }.items():
        assert old in site, f"the recipe no longer has {old!r}"
        site = site.replace(old, new)
    (root / "site.conf").write_text(site)
    conf = root / "nginx.conf"
    conf.write_text(
        f"user root;\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n access_log off;\n client_body_temp_path {root}/body;\n proxy_temp_path {root}/proxy;\n"
        f" fastcgi_temp_path {root}/fcgi;\n uwsgi_temp_path {root}/uwsgi;\n scgi_temp_path {root}/scgi;\n"
        f" include {root}/site.conf;\n}}\n"
    )
    return conf


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("proxy")
    pki = make_server_pki(root / "pki")
    upstream = free_port()
    data = root / "data"
    args = ("--forwarded-allow-ips", PROXY_ADDRESS, "--require-client-cert", "--host", "127.0.0.1")
    with wardwatch_serve(data, *args, port=upstream) as served:
        ca = root / "agent-ca.pem"
        ca.write_bytes(httpx.get(f"{served.url}/api/v1/agents/ca.pem").content)
        crl = root / "agent-crl.pem"
        crl.write_bytes(httpx.get(f"{served.url}/api/v1/agents/crl.pem").content)
        https_port, http_port = free_port(), free_port()
        conf = nginx_conf(
            root, https_port=https_port, http_port=http_port, upstream=upstream, pki=pki, ca=ca, crl=crl
        )
        test = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
        assert test.returncode == 0, test.stderr
        proc = subprocess.Popen(
            [NGINX, "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE, text=True
        )
        url = f"https://127.0.0.1:{https_port}"
        verify = ssl.create_default_context(cafile=str(pki.ca))

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", verify=verify, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(up, 20, "nginx")
            engine = make_engine(f"sqlite:///{data / 'wardwatch.db'}")
            yield {
                "url": url,
                "direct": served.url,
                "verify": verify,
                "pki": pki,
                "engine": engine,
                "root": root,
            }
            engine.dispose()
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


def test_through_the_proxy_the_collector_sees_tls(proxied: dict[str, Any]) -> None:
    answer = httpx.get(f"{proxied['url']}/login", verify=proxied["verify"])
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert all("; secure" in c.lower() for c in answer.headers.get_list("set-cookie"))


def test_forwarded_headers_from_anyone_else_are_not_believed(proxied: dict[str, Any]) -> None:
    answer = httpx.get(
        f"{proxied['direct']}/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )
    assert answer.status_code == 200
    assert "strict-transport-security" not in answer.headers
    assert not any("secure" in c.lower() for c in answer.headers.get_list("set-cookie"))


def test_agents_deliver_through_the_proxy_with_their_certificate(
    proxied: dict[str, Any], tmp_path: Path
) -> None:
    url, pki = proxied["url"], proxied["pki"]
    state = tmp_path / "agent"
    settings = agent_settings(state, collector_url=url, ca_bundle=pki.ca)
    ident = enroll(
        settings, collector_url=url, secret=seed_site(proxied["engine"]), hostname="pc-px", state_dir=state
    )
    ident.save(state)
    spool = Spool.in_state_dir(state)
    rid, body = small_report(ident.agent_id, hostname="pc-px", kind="full")
    spool.enqueue(body, report_id=rid, agent_id=ident.agent_id)
    result = Deliverer(settings, spool).flush()
    assert result.error is None and result.delivered == 1

    # The agent's certificate (public) in a header, sent by the agent itself or straight to the
    # collector, proves nothing: nginx overwrites it, the collector ignores it from others.
    cert_pem = (state / client_cert.CLIENT_FILE).read_text().split("-----BEGIN PRIVATE KEY-----")[0]
    forged = {"Authorization": f"Bearer {ident.agent_key}", "X-Client-Cert": quote(cert_pem)}
    rid2, body2 = small_report(ident.agent_id, hostname="pc-px", kind="full")
    for target, verify in ((url, proxied["verify"]), (proxied["direct"], True)):
        answer = httpx.post(f"{target}/api/v1/reports", content=body2, headers=forged, verify=verify)
        assert answer.status_code == 401, answer.text
        assert "requires a client certificate" in answer.json()["detail"]

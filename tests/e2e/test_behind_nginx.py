"""The shipped nginx site (deploy/nginx/authsvc.conf), as it is, in front of two gunicorn
hosts: TLS with a certificate made here, HTTP/2 offered, plain HTTP redirected, the client's
address passed on and a forged one dropped, cookies Secure, one request id from nginx to
the service's log, nginx's own errors in JSON, and slow clients held by nginx instead of
gunicorn's threads.

Needs Debian's nginx; .ci/run installs it and sets REQUIRE_NGINX=1, so in CI a missing
nginx fails the run instead of skipping.
"""

import datetime
import getpass
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import LiveServer
from tests.e2e.reloads import reload_under_load
from tests.e2e.spa import register_reload_and_log_out
from tests.ports import free_port
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

SITE = ROOT / "deploy" / "nginx" / "authsvc.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "proxied Passphrase 7"
FORGED_ADDRESS = "203.0.113.9"
SLOW_CLIENTS = 40  # more than the two hosts' 16 threads together


@dataclass
class Edge:
    https: str
    http: str
    certificate: Path
    directory: Path
    hosts: tuple[LiveServer, LiveServer]

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would win over ``verify``
        session.verify = str(self.certificate)
        return session

    def access_lines(self) -> list[dict[str, object]]:
        text = (self.directory / "authsvc.access.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def edge(start_server, redis_url, tmp_path) -> Iterator[Edge]:
    if not Path(NGINX).exists():
        message = "nginx is not installed (apt-get install nginx-light); proxy test not run"
        if os.environ.get("REQUIRE_NGINX"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    https_port, http_port = free_port(), free_port()
    shared = {
        "AUTH_FRONTEND_URL": f"https://localhost:{https_port}",
        "AUTH_PUBLIC_URL": f"https://localhost:{https_port}",
        "TRUSTED_PROXIES": "1",
        "AUTH_COOKIE_SECURE": "true",
        "GUNICORN_ACCESS_LOG": "0",
        "AUTH_SERVE_EXAMPLES": "true",
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    hosts = (start_server(**shared), start_server(**shared))
    hosts[0].create_user("proxied", password=PASSWORD)
    certificate, key = _self_signed(tmp_path)
    site = _site_for(tmp_path, hosts, https_port, http_port, certificate, key)
    configuration = _nginx_conf(tmp_path, site)
    with (tmp_path / "nginx.stderr").open("w") as stderr:
        process = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
             "-c", str(configuration)],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        _wait_for(https_port, process, tmp_path)
        yield Edge(
            https=f"https://localhost:{https_port}",
            http=f"http://localhost:{http_port}",
            certificate=certificate,
            directory=tmp_path,
            hosts=hosts,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_browser_session_over_tls_reaches_both_hosts_with_the_clients_address(edge):
    with edge.session() as client:
        login = client.post(
            f"{edge.https}/api/v1/auth/login",
            json={"email": "proxied@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": FORGED_ADDRESS, "Origin": edge.https},
        )
        bearer = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        refreshed = client.post(
            f"{edge.https}/api/v1/auth/refresh-token", headers={"Origin": edge.https}
        )
        listed = [client.get(f"{edge.https}/api/v1/auth/sessions", headers=bearer)
                  for _ in range(4)]  # fmt: skip

    assert login.status_code == 200 and refreshed.status_code == 200
    assert "; Secure" in login.headers["Set-Cookie"]
    assert {session["ip"] for session in listed[0].json()["sessions"]} == {"127.0.0.1"}
    request_id = login.headers["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    logged = "".join(host.logs() for host in edge.hosts)
    assert f'"requestId": "{request_id}"' in logged
    access = edge.access_lines()
    assert {"path": "/api/v1/auth/login", "status": 200, "requestId": request_id}.items() <= (
        next(line for line in access if line["requestId"] == request_id).items()
    )
    assert len({line["upstream"] for line in access}) == 2, "both hosts served"
    assert all("?" not in str(line["path"]) for line in access)


def test_plain_http_is_redirected_and_tls_offers_http2(edge):
    redirected = requests.get(f"{edge.http}/healthz?x=1", allow_redirects=False, timeout=10)

    assert redirected.status_code == 308
    assert redirected.headers["Location"].startswith("https://localhost")
    assert _alpn(edge) == "h2"


def test_slow_clients_wait_in_nginx_and_the_service_keeps_answering(edge):
    port = int(edge.https.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(edge.certificate))
    slow = []
    for _ in range(SLOW_CLIENTS):
        connection = context.wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost"
        )
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        slow.append(connection)
    try:
        with edge.session() as client:
            answers = [client.get(f"{edge.https}/healthz", timeout=5) for _ in range(5)]
            for connection in slow:
                connection.sendall(b"a")
            answers += [client.get(f"{edge.https}/healthz", timeout=5) for _ in range(5)]
    finally:
        for connection in slow:
            connection.close()

    assert [answer.status_code for answer in answers] == [200] * 10


def test_the_services_errors_pass_through_and_nginxs_own_are_json(edge):
    with edge.session() as client:
        service_limit = client.post(
            f"{edge.https}/api/v1/auth/login",
            data=b'{"email": "' + b"a" * 70_000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
        edge_limit = client.post(
            f"{edge.https}/api/v1/auth/login",
            data=b"a" * 2_000_000,
            headers={"Content-Type": "application/json"},
        )
        for host in edge.hosts:
            host.stop()
        unavailable = client.get(f"{edge.https}/api/v1/users/current")

    assert service_limit.status_code == 413 and "message" in service_limit.json()
    assert edge_limit.status_code == 413
    assert edge_limit.json()["error"] == "PayloadTooLargeError"
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "5"
    assert unavailable.json()["error"] == "ServiceUnavailableError"


@pytest.mark.one_database  # /healthz, which it loads, never reaches the database
def test_a_release_reloaded_host_by_host_behind_nginx_fails_no_request(edge):
    """The deploy of deploy/README.md: each host's master gets HUP in turn (new code, every
    worker replaced) while wrk loads nginx over TLS."""
    masters = [host.process.pid for host in edge.hosts if host.process is not None]

    reloaded = reload_under_load(edge.https, masters)

    assert reloaded.measured.requests > 500
    assert reloaded.measured.errors == 0, reloaded.measured
    assert reloaded.swapped_under_load(2), "a host was reloaded after the load"


def test_the_example_spa_works_in_chromium_through_nginx(edge, browser):
    context = browser.new_context(ignore_https_errors=True)  # the test's own certificate
    cookies: list[dict[str, object]] = []

    spa = register_reload_and_log_out(
        context.new_page(), f"{edge.https}/examples/spa/", "spa@example.com", PASSWORD,
        signed_in_again=lambda: cookies.extend(context.cookies()),
    )  # fmt: skip
    context.close()

    [cookie] = [c for c in cookies if c["name"] == "refreshToken"]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert spa.refreshes[:2] == [400, 200]  # the first visit has no cookie; the reload refreshes
    assert spa.logout_status == 200


def _site_for(
    directory: Path,
    hosts: tuple[LiveServer, LiveServer],
    https_port: int,
    http_port: int,
    certificate: Path,
    key: Path,
) -> Path:
    """The shipped site with this machine's addresses, ports, files and names; every line
    changed is one the file marks CHANGE (or a listen line), and each must be there."""
    first, second = (host.url.removeprefix("http://") for host in hosts)
    replacements = {
        "server 10.0.0.11:5000": f"server {first}",
        "server 10.0.0.12:5000": f"server {second}",
        "listen [::]:80;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:443 ssl http2;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "server_name auth.example.com;": "server_name localhost;",
        "/etc/ssl/authsvc/fullchain.pem": str(certificate),
        "/etc/ssl/authsvc/privkey.pem": str(key),
        "/var/log/nginx/": f"{directory}/",
        "return 308 https://$host$request_uri;": f"return 308 https://$host:{https_port}$request_uri;",
    }
    text = SITE.read_text()
    for shipped, here in replacements.items():
        assert shipped in text, f"deploy/nginx/authsvc.conf no longer has {shipped!r}"
        text = text.replace(shipped, here)
    site = directory / "authsvc.conf"
    site.write_text(text)
    return site


def _nginx_conf(directory: Path, site: Path) -> Path:
    """A main configuration of the test's own (Debian's reads /etc/nginx and writes
    /var/lib/nginx), including the site as sites-enabled would."""
    temporary = directory / "temp"
    temporary.mkdir()
    configuration = directory / "nginx.conf"
    configuration.write_text(f"""
daemon off;
user {getpass.getuser()};
worker_processes 2;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {temporary}/body;
    proxy_temp_path {temporary}/proxy;
    fastcgi_temp_path {temporary}/fastcgi;
    uwsgi_temp_path {temporary}/uwsgi;
    scgi_temp_path {temporary}/scgi;
    include {site};
}}
""")
    return configuration


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return certificate_path, key_path


def _alpn(edge: Edge) -> str | None:
    port = int(edge.https.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(edge.certificate))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as connection,
    ):
        return connection.selected_alpn_protocol()


def _wait_for(port: int, process: subprocess.Popen[bytes], directory: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError((directory / "nginx.stderr").read_text())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nginx did not listen in 15 s")

"""Voices over HTTPS: the one TLS context the process shares (symposia.providers.tls) still verifies the
server, honours SSL_CERT_FILE as httpx does, and is built once however many providers there are.

The server is the loopback fake serving HTTPS with a certificate from a throwaway CA (trustme); each
command runs in its own interpreter, since the context is built once per process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from support import numbered, voice_tables, write_user_config
from symposia.testing import FakeServer, Reply

KEY = "tls-test-key-0123456789"


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[FakeServer]:
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    with FakeServer(tls=ctx) as srv:
        yield srv


def _config(home: Path, srv: FakeServer) -> None:
    """Two providers on the same HTTPS server (two clients, one context), a voice on each."""
    text = ""
    for name in ("one", "two"):
        text += (f'[providers.{name}]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\n'
                 f'key_env = "TLS_FAKE_KEY"\nmax_attempts = 1\n')
    voices = voice_tables("one", numbered(["alpha"])) + voice_tables("two", numbered(["beta"]))
    write_user_config(home, text + voices)


def _council(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = ("import sys\nfrom symposia.providers import tls\nfrom symposia.cli.main import cli\n"
            "contexts = []\n_shared = tls.shared_context\n"
            "def counted():\n    ctx = _shared()\n    contexts.append(id(ctx))\n    return ctx\n"
            "tls.shared_context = counted\n"
            "try:\n    cli(sys.argv[1:], prog_name='symposia')\nexcept SystemExit as e:\n    code = e.code\n"
            "print('CONTEXTS', len(contexts), len(set(contexts)), file=sys.stderr)\nsys.exit(code)")
    full = {**os.environ, "TLS_FAKE_KEY": KEY, **env}
    return subprocess.run([sys.executable, "-c", code, "council", "What persists?", "-m", "alpha", "-m", "beta",
                           "--no-analyze"], capture_output=True, text=True, timeout=120, env=full)


def test_an_untrusted_certificate_fails_the_call_and_nothing_is_sent(
        isolated_user_dirs: Path, https_server: FakeServer) -> None:
    _config(isolated_user_dirs, https_server)
    https_server.enqueue(Reply(text="should never be read"))
    done = _council(isolated_user_dirs, SSL_CERT_FILE="", SSL_CERT_DIR="")
    assert done.returncode != 0, done.stderr  # every voice failed: the council says so
    assert "certificate" in done.stderr.lower() or "ssl" in done.stderr.lower(), done.stderr[-3000:]
    assert https_server.request_count == 0  # verification failed before any request was written


def test_a_trusted_certificate_carries_the_council_and_one_context_serves_every_client(
        isolated_user_dirs: Path, https_server: FakeServer, ca: trustme.CA, tmp_path: Path) -> None:
    _config(isolated_user_dirs, https_server)
    https_server.enqueue(Reply(text="Alpha answers over TLS."), model="fake/alpha")
    https_server.enqueue(Reply(text="Beta answers over TLS."), model="fake/beta")
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    done = _council(isolated_user_dirs, SSL_CERT_FILE=str(bundle))  # httpx's variable, honoured as httpx does
    assert done.returncode == 0, done.stderr[-3000:]
    assert https_server.request_count == 2
    assert "Alpha answers over TLS." in done.stderr + done.stdout
    # two providers, so two clients: both were given the one context the process built
    counts = [line.split()[1:] for line in done.stderr.splitlines() if line.startswith("CONTEXTS")]
    assert counts == [["2", "1"]], done.stderr[-2000:]


@pytest.mark.parametrize("env", ["default", "SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_the_shared_context_is_the_one_httpx_would_build(env: str, ca: trustme.CA, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from symposia.providers.tls import verifying_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if env == "SSL_CERT_FILE":
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    elif env == "SSL_CERT_DIR":
        monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    ours, theirs = verifying_context(), httpx.create_ssl_context()
    for attr in ("verify_mode", "check_hostname", "options", "minimum_version", "maximum_version",
                 "verify_flags", "protocol"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.cert_store_stats() == theirs.cert_store_stats()
    assert ours.get_ca_certs() == theirs.get_ca_certs()
    if env == "default":
        assert ours.cert_store_stats()["x509_ca"] > 50  # certifi's bundle, not an empty store

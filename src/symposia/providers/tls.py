"""The one TLS context every HTTP client of the process verifies servers with.

``httpx`` builds a verifying context for each client it makes: it loads the whole CA bundle
(certifi's, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), about 20–40 ms each time, on the main thread,
between a command's start and its first request. A session with voices at five providers paid it five
times. Here it is built once per process, as ``httpx`` builds it (the same verification, the same
environment variables: tests/test_tls.py compares the two), in a background thread that a verb which
calls voices starts before its modules are imported: loading the bundle is OpenSSL work that releases
the GIL, so it overlaps the imports and the session set-up that come before the first request, and
every client then shares the result. The thread imports nothing (two threads importing the same
package at once can deadlock): ``ssl`` and ``certifi`` are imported with this module.

An SSL context is safe to share between clients and threads once built; nothing here changes its
settings after it is handed out.
"""

from __future__ import annotations

import os
import ssl
import threading
from concurrent.futures import Future

import certifi

__all__ = ["prepare", "shared_context", "verifying_context"]

_lock = threading.Lock()
_future: Future[ssl.SSLContext] | None = None


def verifying_context() -> ssl.SSLContext:
    """A new context as ``httpx.create_ssl_context()`` makes it by default (httpx 0.28: ``verify=True``,
    ``trust_env=True``): the CA file ``SSL_CERT_FILE`` names, else the CA folder ``SSL_CERT_DIR``,
    else certifi's bundle; hostnames checked, certificates required."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def _build(future: Future[ssl.SSLContext]) -> None:
    try:
        future.set_result(verifying_context())
    except BaseException as exc:  # handed to whoever asks for the context (a bad SSL_CERT_FILE...)
        future.set_exception(exc)


def prepare() -> None:
    """Start building the shared context in a background thread (once per process; later calls do
    nothing). Call it where a client will soon be needed."""
    global _future
    with _lock:
        if _future is not None:
            return
        _future = Future()
        threading.Thread(target=_build, args=(_future,), name="symposia-tls", daemon=True).start()


def shared_context() -> ssl.SSLContext:
    """The process's verifying context: waits for :func:`prepare`'s thread (starting it if need be);
    raises what building it raised (say, an ``SSL_CERT_FILE`` that is not a certificate bundle)."""
    prepare()
    assert _future is not None
    return _future.result()

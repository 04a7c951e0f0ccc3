"""``symposia serve``: a local web page over the archive, with live sessions (see :mod:`symposia.web.app`)."""

from __future__ import annotations

from symposia.web.app import create_app

__all__ = ["create_app"]

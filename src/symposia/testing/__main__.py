"""``python -m symposia.testing``: serve the fake provider until Ctrl-C, to try a config without real keys."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from symposia.testing.fake_server import BatchSettings, FakeServer


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m symposia.testing",
        description="Serve a fake LLM provider (OpenAI chat completions and Anthropic Messages, live and "
                    "through their batch APIs) on loopback.",
    )
    p.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free one; default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--script", type=Path, metavar="FILE",
                   help='JSON replies: {"default": {...}, "queue": [{...}], "models": {"id": [{...}]}}')
    p.add_argument("--no-auth", action="store_true", help="accept requests without API key headers")
    p.add_argument("--batch-processing-s", type=float, default=0.0, metavar="S",
                   help="batch APIs: seconds over which a batch's results appear (default 0)")
    p.add_argument("--batch-failure-rate", type=float, default=0.0, metavar="R",
                   help="batch APIs: share of batched requests that fail with HTTP 500 (0..1, default 0)")
    p.add_argument("--batch-expire-after-s", type=float, default=None, metavar="S",
                   help="batch APIs: the completion window; unfinished requests expire after it (default 24 h)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the server in the foreground; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        srv = FakeServer(args.port, host=args.host, require_auth=not args.no_auth)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; "
              "pick another --port (0 chooses a free one)", file=sys.stderr)
        return 1
    try:
        srv.batch_settings = BatchSettings(processing_s=args.batch_processing_s,
                                           failure_rate=args.batch_failure_rate,
                                           expire_after_s=args.batch_expire_after_s)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        srv.stop()
        return 2
    if args.script is not None:
        try:
            srv.load_script(json.loads(args.script.read_text(encoding="utf-8")))
        except OSError as exc:
            print(f"error: cannot read --script {args.script}: {exc.strerror or exc}", file=sys.stderr)
            srv.stop()
            return 2
        except ValueError as exc:  # JSON syntax or a bad reply field
            print(f"error: --script {args.script}: {exc}", file=sys.stderr)
            srv.stop()
            return 2

    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    srv.start()
    print("symposia fake provider is listening", flush=True)
    print(f"  OpenAI-compatible base URL: {srv.openai_base_url}", flush=True)
    print(f"  Anthropic base URL:         {srv.anthropic_base_url}", flush=True)
    keys = "No API key is needed." if args.no_auth else "Any non-empty API key is accepted."
    print(f"{keys} Press Ctrl-C to stop.", flush=True)
    while not done.wait(0.5):
        pass
    srv.stop()
    print(f"stopped after {srv.request_count} request(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

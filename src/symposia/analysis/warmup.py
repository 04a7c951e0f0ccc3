"""Warm-up: what an analysis will need, loaded in a background thread while the process waits.

A command that analyses at its end (``council``, ``study``) spends most of its life waiting on the
network, one core idle. The analysis then pays about two seconds before its first number: importing
the analysis stack (numpy, datasketch, whose ``lsh`` module imports ``scipy.integrate``, wordfreq,
markdown-it), loading the embedding model (onnxruntime), reading wordfreq's table, importing
matplotlib. A :class:`Warmup` does that work in a daemon thread while the voices answer; the
analysis finds it done and reuses it: the modules are in ``sys.modules``, the model is the process's
``Embedder.default()``, the table is in wordfreq's cache. Nothing is computed twice and nothing the
analysis returns depends on whether the warm-up ran.

Rules for callers, so the two threads never import the same package at the same time (Python's
per-module import locks can report a deadlock when they do):

* start it once the main thread has done its own imports for the run (:func:`warming` starts it
  shortly after the first call begins, when the requests are out);
* :meth:`Warmup.join` it before the main thread imports anything of the analysis.

A step that fails is recorded in :attr:`Warmup.failed` and otherwise ignored: the analysis then does
that work itself, as it would have without a warm-up.
"""

from __future__ import annotations

import asyncio
import atexit
import queue
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from symposia.catalog import Voice
from symposia.dialogue.observer import Observer, RequestObserver
from symposia.records import ReasoningChunk, Restart, TextChunk, TurnRecord, TurnRequest

if TYPE_CHECKING:
    from symposia.embed import Embedder

__all__ = ["QUIET_S", "START_DELAY_S", "STEPS", "VERDICT_STEPS", "Warmup", "WarmingObserver", "warming",
           "while_running"]

_T = TypeVar("_T")

#: How long after the first call of a run begins the warm-up starts: by then every call of the first
#: round has sent its request (they all start in the same turn of the event loop).
START_DELAY_S = 0.05

#: How long the fed turns and requests must have stopped coming before the warm-up works on them. They
#: come in bursts: a round's answers end together and the next round's requests follow at once, while
#: the main thread stores the answers and builds and sends the requests. Working during the burst
#: (holding the GIL for the Python half of the work) lengthened each round's turnover by 8–10 ms; the
#: work waits for the lull instead (the voices are then out), or for :meth:`Warmup.flush`.
QUIET_S = 0.02

_FLUSH = "flush"  # fed by Warmup.flush: work on what has come, without waiting for a lull


def _import_analysis() -> None:
    import markdown_it

    # deferred: importing the analysis stack off the main thread is this module's purpose
    import symposia.analysis.analyze
    import symposia.analysis.report  # noqa: F401  (the study statistics and the heatmap come with it)
    from symposia.analysis import spans

    spans.prepare()  # the shared-span index's bands: found by numerical integration, once per process

    # the HTML report's Markdown renderer compiles its rules on first use
    markdown_it.MarkdownIt("commonmark", {"html": False}).enable("table").render("| a |\n|---|\n| *b* |\n")


def _load_embedder() -> Embedder:
    # deferred: the embedding model (onnxruntime) is heavy; loading it off the main thread is the point
    from symposia.embed import Embedder, count_tokens

    embedder = Embedder.default()  # the process's shared instance: the analysis gets this very object
    embedder.embed(["warm-up"])  # onnxruntime's first run sets up its buffers
    count_tokens("warm-up")  # the chunker's tokenizer, also loaded once per process
    return embedder


def _load_wordfreq() -> None:
    from wordfreq import zipf_frequency

    zipf_frequency("the", "en")  # reads the shipped frequency table into wordfreq's cache


def _load_matplotlib() -> None:
    # deferred: matplotlib is optional and heavy; drawing a throwaway heatmap loads every part the real
    # one uses (the Agg renderer, the fonts, the colour map, the colour bar, the layout, the PNG encoder)
    from symposia.analysis.heatmap import heatmap_png_bytes

    heatmap_png_bytes(["a", "b"], [[None, 0.5], [0.5, None]], title="warm-up", floor=0.25)


#: The default steps, in order: name -> what it does (its result, if any, is kept in ``results``).
STEPS: Mapping[str, Callable[[], object]] = {
    "analysis": _import_analysis,
    "embedder": _load_embedder,
    "wordfreq": _load_wordfreq,
    "matplotlib": _load_matplotlib,
}


#: What a council's closing verdict needs (it writes the SVG heatmap only: no matplotlib).
VERDICT_STEPS: Mapping[str, Callable[[], object]] = {k: v for k, v in STEPS.items() if k != "matplotlib"}


class Warmup:
    """Runs ``steps`` once, in a daemon thread; :meth:`join` waits for them and never raises."""

    #: The warm-up most recently started in this process (what a command did, for diagnostics and tests).
    latest: ClassVar[Warmup | None] = None

    def __init__(self, steps: Mapping[str, Callable[[], object]] = STEPS) -> None:
        self.steps = dict(steps)
        self.done: list[str] = []  # steps that ran to the end, in order
        self.failed: dict[str, str] = {}  # step -> the error it raised (the analysis does that work itself)
        self.results: dict[str, object] = {}  # step -> what it returned (the embedder, for "embedder")
        self.embedded = 0  # texts of fed turns embedded ahead of the analysis (answers, what voices were shown)
        self.prepared = 0  # answers whose own measures (n-grams, words, sentences) were made ahead
        self._fed: queue.SimpleQueue[TurnRecord | TurnRequest | str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def embedder(self) -> Embedder | None:
        """The embedding model the warm-up loaded (the process's ``Embedder.default()``), if it did."""
        return cast("Embedder | None", self.results.get("embedder"))

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="symposia-warmup", daemon=True)
            Warmup.latest = self
            self._thread.start()
            # A run that ends without its analysis (a failure, Ctrl-C) never joins the warm-up: it must not
            # still be importing or inside the embedding model's native code while the interpreter shuts
            # down (that aborted processes with SIGABRT in the soak). Stopped at exit, before finalisation.
            atexit.register(self.stop)

    def feed(self, turn: TurnRecord) -> None:
        """A turn that has just ended: once the steps are done, the thread embeds the texts the analysis
        will embed for it (the answer, what its voice was shown), so the analysis finds their vectors
        kept (:func:`symposia.analysis.similarity.default_embed`). In a council of several rounds, a
        round's answers are embedded while the next round is out."""
        self._fed.put(turn)

    def feed_request(self, request: TurnRequest) -> None:
        """A request being sent: what it shows its voice is embedded while the voice answers (the later
        rounds of a council show each voice the others' answers, long texts the analysis embeds too)."""
        self._fed.put(request)

    def flush(self) -> None:
        """The run is over (no more bursts of turns): work on what was fed at once, not after a lull, while
        the caller writes its usage table and transcript."""
        self._fed.put(_FLUSH)

    def join(self) -> None:
        """Wait until every step has ended and every fed turn is embedded (at once if never started)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._fed.put(None)  # nothing more will be fed
            thread.join()
            atexit.unregister(self.stop)  # nothing left to stop at exit

    def stop(self) -> None:
        """Stop early: no further step and no further embedding; wait for the one under way to end."""
        self._stopping.set()
        self.join()

    def _run(self) -> None:
        for name, step in self.steps.items():
            if self._stopping.is_set():
                return
            try:
                result = step()
            except Exception as exc:  # a warm-up never breaks the run it serves
                self.failed[name] = f"{type(exc).__name__}: {exc}"
                continue
            if result is not None:
                self.results[name] = result
            self.done.append(name)
        ending = False
        while not ending:
            items: list[TurnRecord | TurnRequest] = []
            while True:  # waits for one, then takes what comes until QUIET_S pass without any (or the end)
                try:
                    item = self._fed.get(timeout=QUIET_S if items else None)
                except queue.Empty:
                    break
                if item is None:
                    ending = True
                    break
                if item is _FLUSH:
                    break
                assert not isinstance(item, str)
                items.append(item)
            if not items or self._stopping.is_set():
                continue  # stopping: drain the queue up to its end without embedding
            try:
                embedded, prepared = _embed_ahead(items)
                self.embedded += embedded
                self.prepared += prepared
            except Exception as exc:  # the analysis embeds them itself
                self.failed["vectors"] = f"{type(exc).__name__}: {exc}"


def _embed_ahead(items: list[TurnRecord | TurnRequest]) -> tuple[int, int]:
    """Embed what the analysis of a session will embed for ``items`` (ended turns: the answer and what
    its voice was shown; requests being sent: what they show), and make what it computes from each
    answer alone; how many texts were embedded and how many answers prepared."""
    # deferred: the analysis stack, off the main thread (the "analysis" step has usually loaded it)
    from symposia.analysis.analyze import answer_turns, prepare
    from symposia.analysis.motifs import answer_of, request_text
    from symposia.analysis.similarity import default_embed

    answers = answer_turns([t for t in items if isinstance(t, TurnRecord)])
    texts = [t.result.text for t in answers] + [answer_of(t).shown for t in answers]
    texts += [request_text(r) for r in items if isinstance(r, TurnRequest)]
    if texts:
        default_embed()(texts)
    prepare(answers)  # and what the analysis computes from each answer alone (n-grams, words, sentences)
    return len(texts), len(answers)


class WarmingObserver:
    """An observer that passes everything on to ``inner``, starts ``warmup`` :data:`START_DELAY_S` after
    the first call of the run begins, and feeds it every turn that ends."""

    def __init__(self, inner: Observer, warmup: Warmup, delay: float = START_DELAY_S) -> None:
        self.inner = inner
        self.warmup = warmup
        self.delay = delay
        self._scheduled = False

    def _schedule(self) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop: nothing to wait for
            self.warmup.start()
            return
        loop.call_later(self.delay, self.warmup.start)

    def note(self, text: str) -> None:
        self.inner.note(text)

    def turn_started(self, key: str, voice: Voice, label: str) -> None:
        self.inner.turn_started(key, voice, label)
        self._schedule()

    def event(self, key: str, event: TextChunk | ReasoningChunk | Restart) -> None:
        self.inner.event(key, event)

    def turn_finished(self, key: str, turn: TurnRecord) -> None:
        self.inner.turn_finished(key, turn)
        self.warmup.feed(turn)

    def request_ready(self, key: str, request: TurnRequest) -> None:
        if isinstance(self.inner, RequestObserver):
            self.inner.request_ready(key, request)
        self.warmup.feed_request(request)


async def while_running(awaitable: Awaitable[_T], warmup: Warmup, delay: float = START_DELAY_S) -> _T:
    """Await ``awaitable`` (one call, say), starting ``warmup`` ``delay`` seconds after it begins."""
    asyncio.get_running_loop().call_later(delay, warmup.start)
    return await awaitable


def warming(observer: Observer, warmup: Warmup | None) -> Observer:
    """``observer``, made to start ``warmup`` once the run's first calls are out (unchanged without one)."""
    return observer if warmup is None else WarmingObserver(observer, warmup)

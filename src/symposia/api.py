"""The Python API: every CLI verb as a method, usable from a script or a notebook.

    >>> from symposia import Symposia
    >>> with Symposia() as s:
    ...     turn = s.ask("local", "What is play?")
    ...     print(turn.result.text)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from symposia.archive import Archive
from symposia.catalog import Catalog, load_catalog
from symposia.dialogue.runtime import Runtime
from symposia.errors import UnknownVoiceError, UsageError
from symposia.keys import register_known_keys
from symposia.records import Message, Params, SessionRecord, TurnRecord

# What `Symposia()` needs to open (catalog, archive, runtime) is imported above; each verb imports its
# own dialogue shape, renderer or the publishing stack when it runs (deferred: `import symposia.api`
# and the CLI's start stay light, so a council's first request leaves sooner).
if TYPE_CHECKING:
    from symposia.analysis.analyze import SessionAnalysis
    from symposia.analysis.floor import Floor
    from symposia.analysis.similarity import Embed
    from symposia.archive.batches import BatchJob
    from symposia.archive.filters import SearchFilters
    from symposia.archive.listing import SessionSummary
    from symposia.archive.neardups import SharedSpan
    from symposia.archive.origin import OriginReport, QuoteVerdict
    from symposia.archive.recall import Formulation
    from symposia.archive.search import Field, Mode, SearchResult
    from symposia.archive.semantic import Embedder
    from symposia.catalog import Preset, Voice
    from symposia.catalog.status import VoiceStatus
    from symposia.dialogue.chat import Chat
    from symposia.dialogue.council import CouncilOutcome
    from symposia.dialogue.observer import Observer
    from symposia.dialogue.plan import Plan
    from symposia.dialogue.runtime import OnEvent
    from symposia.dialogue.study import StudyOutcome, StudyPlan
    from symposia.dialogue.symposium import SymposiumOutcome
    from symposia.importers.pipeline import ImportReport
    from symposia.publish.moltbook import MoltbookClient
    from symposia.publish.queue import AskAnswer, PublishResult, QueueReport

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also from inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Symposia:
    """A catalog, an archive and the providers behind them."""

    def __init__(self, archive: str | Path | None = None, *, config: Path | None = None,
                 catalog: Catalog | None = None, adopt_archive: bool = False) -> None:
        self.catalog = catalog if catalog is not None else load_catalog(config)
        register_known_keys(self.catalog.providers.values())  # before any title or plan is stored
        self.archive = Archive.open(archive, adopt=adopt_archive)
        self.runtime = Runtime(self.catalog, self.archive)

    def __enter__(self) -> Symposia:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        run_sync(self.runtime.aclose())
        self.archive.close()

    # -- voices -------------------------------------------------------------------------------
    def voice(self, name: str) -> Voice:
        return self.catalog.voice(name)

    def voices(self) -> list[VoiceStatus]:
        from symposia.catalog.status import all_statuses  # deferred: see the imports above

        return all_statuses(self.catalog)

    def presets(self) -> list[Preset]:
        return list(self.catalog.presets.values())

    # -- ask ----------------------------------------------------------------------------------
    async def ask_async(self, voice: str, question: str, *, system: str | None = None,
                        temperature: float | None = None, max_tokens: int | None = None,
                        seed: int | None = None, params: Params | None = None,
                        on_event: OnEvent | None = None) -> TurnRecord:
        """Put one question to one voice; the turn is stored in a new ``ask`` session.

        ``params`` (e.g. a template's) are overridden by ``temperature``/``max_tokens``/``seed`` when
        given. A local voice without a seed samples with a fresh one, recorded in the turn's params.
        """
        v = self.catalog.voice(voice)
        request = self.runtime.request_for(
            v, [Message("user", question)], system=system,
            params=(params or Params()).merged(Params(temperature=temperature, max_tokens=max_tokens, seed=seed)),
        )
        title = " ".join(question.split())[:80]
        session = self.runtime.start_session("ask", title, meta={"voices": [v.shortcut]}, voices=[v])
        try:
            turn = await self.runtime.call(session.id, v, request, step_key="ask", on_event=on_event)
        except BaseException:
            self.runtime.finish(session.id, "interrupted")
            raise
        self.runtime.finish(session.id, "complete" if turn.result.ok else "failed")
        return turn

    def ask(self, voice: str, question: str, *, system: str | None = None, temperature: float | None = None,
            max_tokens: int | None = None, seed: int | None = None, params: Params | None = None,
            on_event: OnEvent | None = None) -> TurnRecord:
        """``symposia ask``: see :meth:`ask_async`."""
        return run_sync(self.ask_async(voice, question, system=system, temperature=temperature,
                                       max_tokens=max_tokens, seed=seed, params=params, on_event=on_event))

    async def continue_async(self, question: str, *, session_id: str | None = None, voice: str | None = None,
                             system: str | None = None, temperature: float | None = None,
                             max_tokens: int | None = None, seed: int | None = None,
                             on_event: OnEvent | None = None) -> TurnRecord:
        """Ask a follow-up in an earlier conversation (an ``ask`` or ``chat`` session; default: the
        latest), with everything said there as history; ``voice`` switches who answers."""
        from symposia.dialogue.chat import Chat, latest_conversation  # deferred: see the imports above

        sid = session_id if session_id is not None else latest_conversation(self.archive)
        params = Params(temperature=temperature, max_tokens=max_tokens, seed=seed) \
            if temperature is not None or max_tokens is not None or seed is not None else None
        chat = Chat.resume(self.runtime, sid, voice=voice, system=system, params=params)  # takes the lease
        try:
            turn = await chat.ask(question, on_event=on_event)
        except BaseException:
            self.runtime.finish(chat.session_id or sid, "interrupted")
            raise
        self.runtime.finish(chat.session_id or sid, "complete" if turn.result.ok else "failed")
        return turn

    def continue_conversation(self, question: str, *, session_id: str | None = None, voice: str | None = None,
                              system: str | None = None, temperature: float | None = None,
                              max_tokens: int | None = None, seed: int | None = None,
                              on_event: OnEvent | None = None) -> TurnRecord:
        """``symposia ask -c`` / ``--cid``: see :meth:`continue_async`."""
        return run_sync(self.continue_async(question, session_id=session_id, voice=voice, system=system,
                                            temperature=temperature, max_tokens=max_tokens, seed=seed,
                                            on_event=on_event))

    # -- sessions -----------------------------------------------------------------------------------
    async def council_async(self, question: str, voices: list[str] | tuple[str, ...] | str, *, rounds: int = 1,
                            chair: str | None = None, rank: bool = False, rank_self: bool = False,
                            system: str | None = None, temperature: float | None = None,
                            max_tokens: int | None = None, max_cost: float | None = None, seed: int | None = None,
                            observer: Observer | None = None) -> CouncilOutcome:
        """The same question to several voices at once (``voices`` may name a preset)."""
        from symposia.dialogue.council import CouncilPlan, run_council  # deferred: see the imports above

        names = tuple(v.shortcut for v in self.catalog.resolve_voices(voices))
        plan = CouncilPlan(question=question, voices=names, rounds=rounds,
                           chair=self.catalog.voice(chair).shortcut if chair else None, rank=rank,
                           rank_self=rank_self,
                           system=system,
                           temperature=temperature, max_tokens=max_tokens, max_cost=max_cost, seed=seed)
        return await run_council(self.runtime, plan, observer=observer)

    def council(self, question: str, voices: list[str] | tuple[str, ...] | str, *, rounds: int = 1,
                chair: str | None = None, rank: bool = False, rank_self: bool = False, system: str | None = None,
                temperature: float | None = None, max_tokens: int | None = None, max_cost: float | None = None,
                seed: int | None = None, observer: Observer | None = None) -> CouncilOutcome:
        """``symposia council``: see :meth:`council_async`."""
        return run_sync(self.council_async(question, voices, rounds=rounds, chair=chair, rank=rank,
                                           rank_self=rank_self, system=system, temperature=temperature,
                                           max_tokens=max_tokens, max_cost=max_cost, seed=seed, observer=observer))

    async def arena_async(self, voice_a: str, voice_b: str, topic: str, *, mode: str = "free", turns: int = 6,
                          system: str | None = None, temperature: float | None = None,
                          max_tokens: int | None = None, session_id: str | None = None) -> SessionRecord:
        """Two voices talk, each seeing the conversation from its own side."""
        from symposia.dialogue.arena import run_arena  # deferred: see the imports above

        sid = await run_arena(self.runtime, voice_a, voice_b, topic, mode, turns, session_id=session_id,
                              system=system, params=Params(temperature=temperature, max_tokens=max_tokens))
        return self.archive.get_session(sid)

    def arena(self, voice_a: str, voice_b: str, topic: str, *, mode: str = "free", turns: int = 6,
              system: str | None = None, temperature: float | None = None, max_tokens: int | None = None,
              session_id: str | None = None) -> SessionRecord:
        """``symposia arena``: see :meth:`arena_async`."""
        return run_sync(self.arena_async(voice_a, voice_b, topic, mode=mode, turns=turns, system=system,
                                         temperature=temperature, max_tokens=max_tokens, session_id=session_id))

    async def resume_async(self, session_id: str, *, max_cost: float | None = None,
                           observer: Observer | None = None, plan: Plan | None = None) -> Any:
        """Finish an interrupted or incomplete session without repeating its finished calls; with ``plan``
        (a corrected symposium plan), calls whose inputs are unchanged are kept and the rest are made."""
        from symposia.dialogue.resume import resume_session  # deferred: see the imports above

        return await resume_session(self.runtime, self.archive.get_session(session_id).id, observer=observer,
                                    max_cost=max_cost, plan=plan)

    def resume(self, session_id: str, *, max_cost: float | None = None, observer: Observer | None = None,
               plan: Plan | None = None) -> Any:
        """``symposia resume``: see :meth:`resume_async`."""
        return run_sync(self.resume_async(session_id, max_cost=max_cost, observer=observer, plan=plan))

    def annotate(self, session_id: str, kinds: list[str] | tuple[str, ...], *, host: str | None = None,
                 texts: dict[str, str] | None = None, intent: str | None = None, title: str | None = None) -> Any:
        """Add observations, key formulations, a synthesis or a closing to a finished session: drafted by
        ``host`` (a voice) or given in ``texts`` (kind -> Markdown, or TOML rows for the tables). Every
        attributed quote is checked; each version is kept (see :mod:`symposia.dialogue.annotation`)."""
        from symposia.dialogue.annotation import annotate  # deferred: see the imports above

        class _Given:
            def write(self, kind: str, template: str, problem: str | None) -> str | None:
                return None if problem or texts is None else texts.get(kind)

        return run_sync(annotate(self.runtime, self.archive.get_session(session_id).id, list(kinds),
                                 host=self.catalog.voice(host).shortcut if host else None,
                                 person=None if host else _Given(), intent=intent, title=title))

    def ranking(self, session_id: str) -> Any:
        """A council's peer ranking from the record: each ranker's label map (its own shuffled order), its
        parsed ranking or a flag that it could not be parsed, and the aggregate (mean rank, votes); None
        when the session has no ranking. See :mod:`symposia.dialogue.ranking`."""
        from symposia.dialogue.ranking import ranking_table  # deferred: see the imports above

        return ranking_table(self.archive.session_turns(self.archive.get_session(session_id).id))

    def export(self, session_id: str, fmt: str = "md", *, include_content: bool = False) -> str:
        """A session rendered from the record: Markdown in the seed's shape (``md``), full JSON (``json``),
        or OpenTelemetry GenAI spans as OTLP-JSON (``otel``; messages only with ``include_content``)."""
        # deferred: see the imports above
        from symposia.render.otel import otel_trace
        from symposia.render.transcript import transcript_json, transcript_markdown

        session = self.archive.get_session(session_id)
        turns = self.archive.session_turns(session.id)
        if fmt == "json":
            return json.dumps(transcript_json(session, turns), ensure_ascii=False, indent=2)
        if fmt == "otel":
            return json.dumps(otel_trace(session, turns, include_content=include_content), ensure_ascii=False,
                              indent=2)
        if fmt != "md":
            raise UsageError(f"invalid value for fmt, expected 'md', 'json' or 'otel' (not {fmt!r})")
        return transcript_markdown(session, turns)

    def export_inspect(self, session_id: str) -> dict[str, dict[str, Any]]:
        """A study as Inspect AI eval logs (JSON-ready), one per voice, keyed by voice."""
        from symposia.render.inspect_log import inspect_logs  # deferred: see the imports above

        session = self.archive.get_session(session_id)
        return inspect_logs(session, self.archive.session_turns(session.id))

    def datasette_metadata(self, database: str | None = None) -> dict[str, Any]:
        """Datasette metadata for this archive (``symposia datasette-metadata``)."""
        from symposia.archive.datasette import datasette_metadata  # deferred: see the imports above

        name = database or (self.archive.path.stem if isinstance(self.archive.path, Path) else "archive")
        return datasette_metadata(name)

    # -- more dialogue shapes ------------------------------------------------------------------
    async def symposium_async(self, plan: Plan | str | Path, *, session_id: str | None = None,
                              observer: Observer | None = None) -> SymposiumOutcome:
        """Run (or resume, given ``session_id``) a symposium plan: a :class:`Plan`, or a TOML file's path.
        A plan whose host is a person needs the terminal (``symposia symposium``)."""
        # deferred: see the imports above
        from symposia.dialogue.plan import Plan, load_plan
        from symposia.dialogue.symposium import run_symposium

        resolved = plan if isinstance(plan, Plan) else load_plan(plan)
        return await run_symposium(self.runtime, resolved, session_id=session_id, observer=observer)

    def symposium(self, plan: Plan | str | Path, *, session_id: str | None = None) -> SymposiumOutcome:
        return run_sync(self.symposium_async(plan, session_id=session_id))

    async def study_async(self, plan: StudyPlan, *, session_id: str | None = None,
                          observer: Observer | None = None) -> StudyOutcome:
        """Run (or resume) a study: each prompt to each voice in fresh contexts, K samples, controls."""
        from symposia.dialogue.study import run_study  # deferred: see the imports above

        return await run_study(self.runtime, plan, session_id=session_id, observer=observer)

    def study(self, prompts: list[str] | tuple[str, ...], voices: list[str] | tuple[str, ...], *, samples: int = 5,
              control_prompts: list[str] | tuple[str, ...] = (), echo: bool = False, system: str | None = None,
              temperature: float | None = None, max_tokens: int | None = None, seed: int | None = None,
              session_id: str | None = None) -> StudyOutcome:
        """``symposia study`` from Python (then :meth:`analyze` the session for the statistics)."""
        from symposia.dialogue.study import StudyPlan  # deferred: see the imports above

        plan = StudyPlan(prompts=tuple(prompts), voices=tuple(self.catalog.voice(v).shortcut for v in voices),
                         samples=samples, controls=tuple(control_prompts), echo=echo, system=system,
                         temperature=temperature, max_tokens=max_tokens, seed=seed)
        return run_sync(self.study_async(plan, session_id=session_id))

    def chat(self, voice: str, *, system: str | None = None, session_id: str | None = None) -> Chat:
        """A chat to drive turn by turn (``await chat.ask(...)``, ``retry``, ``undo``, ``switch``); with
        ``session_id``, the stored chat (or ask) continued."""
        from symposia.dialogue.chat import Chat  # deferred: see the imports above

        if session_id is not None:
            return Chat.resume(self.runtime, session_id, voice=voice, system=system)
        return Chat(self.runtime, voice, system=system)

    def batches(self, *, open_only: bool = False, limit: int = 50) -> list[BatchJob]:
        """The provider batches sent from this archive, newest first (``symposia batches``)."""
        from symposia.archive.batches import BatchLedger  # deferred: see the imports above

        return BatchLedger(self.archive).jobs(open_only=open_only, limit=limit)

    def publish(self, session_id: str, *, to: str = "moltbook", submolt: str = "general", title: str | None = None,
                part: str = "full", confirm: bool = False, client: MoltbookClient | None = None,
                ask: AskAnswer | None = None) -> PublishResult:
        """Post a session to Moltbook (a preview unless ``confirm=True``); see :mod:`symposia.publish`."""
        from symposia.publish.queue import publish_session  # deferred: the publishing stack (ftfy, httpx)

        return publish_session(self.archive, session_id, to=to, submolt=submolt, title=title, part=part,
                               confirm=confirm, client=client, ask=ask)

    def send_queue(self, *, client: MoltbookClient | None = None, ask: AskAnswer | None = None) -> QueueReport:
        """Send queued posts that are due."""
        from symposia.publish.queue import send_queue  # deferred: the publishing stack (ftfy, httpx)

        return send_queue(self.archive, client=client, ask=ask)

    def analyze(self, session_id: str, *, floor: Floor | None = None, embed: Embed | None = None,
                per_voice: int = 2, min_span_words: int = 5, encoder: str | None = None) -> SessionAnalysis:
        """Convergence measured honestly for one session (see :mod:`symposia.analysis`), against the floor
        frozen for it by `symposia analyze` unless ``floor`` is given."""
        # deferred: the analysis stack (numpy, onnxruntime embeddings) loads only when analysing
        from symposia.analysis.analyze import analyze_session
        from symposia.analysis.floor import frozen_floor

        sid = self.archive.get_session(session_id).id
        return analyze_session(self.archive, sid, floor=floor if floor is not None else frozen_floor(sid),
                               embed=embed, per_voice=per_voice, min_span_words=min_span_words, encoder=encoder)

    # -- the archive --------------------------------------------------------------------------------
    # Deferred below: the archive's search stack (numpy, the embedder, datasketch) loads only when one of
    # these verbs runs, so `import symposia.api` (and the CLI's start) stays light.
    def search(self, query: str, *, n: int = 10, filters: SearchFilters | None = None, mode: Mode = "auto",
               field: Field = "answer", embedder: Embedder | None = None,
               index_pending: bool = False) -> SearchResult:
        """Full-text / semantic / hybrid search (see :func:`symposia.archive.search.search`)."""
        from symposia.archive.search import search  # deferred: see above

        return search(self.archive, query, n=n, filters=filters, mode=mode, field=field, embedder=embedder,
                      index_pending=index_pending)

    def index(self, *, embedder: Embedder | None = None, limit: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> int:
        """Embed the turns not yet embedded (``symposia index``); returns how many were done now."""
        from symposia.archive.semantic import index_archive  # deferred: see above

        return index_archive(self.archive, embedder, limit=limit, progress=progress)

    def near_dups(self, *, min_words: int = 8, filters: SearchFilters | None = None,
                  limit: int = 50) -> list[SharedSpan]:
        """Near-verbatim spans shared by different voices across sessions (``symposia near-dups``)."""
        from symposia.archive.neardups import near_duplicates  # deferred: see above

        return near_duplicates(self.archive, min_words=min_words, filters=filters, limit=limit)

    def origin(self, phrase: str, *, semantic: bool = True, embedder: Embedder | None = None) -> OriginReport:
        """The first voice to say ``phrase`` unprompted, every use labelled by exposure, and paraphrases."""
        from symposia.archive.origin import origin  # deferred: see above

        return origin(self.archive, phrase, semantic=semantic, embedder=embedder)

    def recall(self, voice: str, n: int = 10, *, before: str | None = None, min_words: int = 4,
               max_words: int = 30) -> list[Formulation]:
        """A voice's most distinctive earlier formulations, verbatim."""
        from symposia.archive.recall import recall  # deferred: see above

        return recall(self.archive, self.catalog.voice(voice).shortcut, n, before=before, min_words=min_words,
                      max_words=max_words)

    def verify_quote(self, voice: str, quote: str, *, semantic: bool = True,
                     embedder: Embedder | None = None) -> QuoteVerdict:
        """Verbatim and original, echoed, paraphrase, said by someone else, or not found (docs/PROVENANCE.md)."""
        from symposia.archive.origin import verify_quote  # deferred: see above

        try:
            name = self.catalog.voice(voice).shortcut
        except UnknownVoiceError:
            name = voice  # a character, or a speaker the catalog does not know: the archive checks it
        return verify_quote(self.archive, name, quote, semantic=semantic, embedder=embedder)

    def import_paths(self, *paths: str | Path, dry_run: bool = False) -> ImportReport:
        """Import transcripts users already have (files or folders)."""
        from symposia.importers import import_paths  # deferred: the importers load only when importing

        return import_paths(self.archive, self.catalog, [Path(p) for p in paths], dry_run=dry_run)

    # -- the record ---------------------------------------------------------------------------
    def log(self, n: int = 10, voice: str | None = None) -> list[TurnRecord]:
        return self.archive.recent_turns(n, voice=self.catalog.voice(voice).shortcut if voice else None)

    def show(self, turn_id: int) -> TurnRecord:
        return self.archive.get_turn(turn_id)

    def sessions(self, *, kind: str | None = None, voice: str | None = None, since: date | None = None,
                 until: date | None = None, status: str | None = None, limit: int = 50) -> list[SessionSummary]:
        """Sessions newest first, with their calls, failures, voices and cost (``symposia sessions``)."""
        from symposia.archive.listing import session_summaries  # deferred: see the imports above

        shortcut = self.catalog.voice(voice).shortcut if voice else None
        return session_summaries(self.archive, kind=kind, voice=shortcut, since=since, until=until,
                                 status=status, limit=limit)

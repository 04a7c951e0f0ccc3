"""A `--queue` run waits for its calls by step, so a turn committed after one with a higher id is seen.

PostgreSQL hands out a row's id when it is inserted and shows the row when its transaction commits:
with several workers writing, turn 7 can become visible after turn 8. A waiter that remembered "the
highest id seen" skipped such a turn and the study waited forever (found by a loaded test run).
"""

from __future__ import annotations

import asyncio

import psycopg

from symposia.archive import Archive
from symposia.dialogue.workers import QueueExecutor
from test_postgres import session, turn


def test_a_turn_committed_out_of_id_order_still_ends_its_wait(pg_url: str) -> None:
    with Archive.open(pg_url) as archive, psycopg.connect(pg_url) as slow:
        archive.create_session(session("s1"))
        first = archive.add_turn(turn("s1", 1, "a seed row to copy", step="r0:alpha"))
        cols = [r[0] for r in slow.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'turns' AND column_name "
            "NOT IN ('id', 'seq', 'step_key') AND is_generated = 'NEVER' ORDER BY ordinal_position").fetchall()]
        names = ", ".join(cols)

        async def scenario() -> None:
            executor = QueueExecutor(archive, pg_url, poll_s=0.05)
            loop = asyncio.get_running_loop()
            waits = {key: loop.create_future() for key in ("r1:alpha", "r1:beta")}
            for key, fut in waits.items():
                executor._waiting[("s1", key)] = [fut]
            executor._poller = asyncio.ensure_future(executor._poll())
            try:
                # A worker inserts r1:alpha (it gets the lower id) but has not committed yet...
                slow.execute(f"INSERT INTO turns (seq, step_key, {names}) SELECT 2, 'r1:alpha', {names} "
                             "FROM turns WHERE id = %s", (first,))
                # ...while another stores r1:beta (a higher id) and commits at once.
                archive.add_turn(turn("s1", 3, "beta's answer", step="r1:beta", voice="beta"))
                await asyncio.wait_for(waits["r1:beta"], 60)
                for _ in range(5):  # the waiter has looked again since r1:beta was seen
                    await asyncio.sleep(executor.poll_s)
                assert not waits["r1:alpha"].done()  # not stored yet: still waiting
                slow.commit()  # now r1:alpha, with the lower id, becomes visible
                await asyncio.wait_for(waits["r1:alpha"], 60)  # a watermark would wait forever here
            finally:
                executor._poller.cancel()

        asyncio.run(scenario())

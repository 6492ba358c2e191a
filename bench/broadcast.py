"""Measure how close a large broadcast comes to the outbox's configured send rate.

Run from the repository root:

    .venv/bin/python bench/broadcast.py [--recipients 2000] [--rate 200] [--database-url URL]

It starts the sandbox Bot API server on loopback and the real bot against it, as the
end-to-end tests do. It creates `recipients` sandbox users who have started the bot,
each with an approved Person row, and queues one broadcast to all of them. The sandbox
replies with 429 and retry_after 1 s to a seeded random share of sendMessage requests
(2% by default).

wall_s runs from the commit of the transaction that queues the broadcast to the
outbox recording its last row (the broadcast's finished_at; both times are read from
the bot's clock). The queueing transaction's own time is printed separately. floor_s is
recipients / rate, the time the configured rate alone needs. lost counts recipients
without a copy of the message and duplicated those with more than one. The last line
of output is `recipients=… floor_s=… wall_s=… ratio=… lost=… duplicated=…`, where
ratio is wall_s / floor_s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings  # noqa: E402
from bot.sandbox.harness import SandboxHarness  # noqa: E402
from storage import outbox  # noqa: E402
from storage.models import Broadcast, Community, OutboxMessage, Person  # noqa: E402

SEED = 20250601
TEXT = "Kharif procurement update: prices and collection dates for this week"
POLL_S = 0.05


async def add_recipients(harness: SandboxHarness, count: int) -> list[outbox.Recipient]:
    """Create `count` sandbox users who started the bot, and their Person rows."""
    assert harness.app is not None
    users = []
    for number in range(count):
        user = harness.server.user(f"poc{number}")
        user.started = True
        users.append(user)
    async with harness.app.sessionmaker.begin() as session:
        community_id = await session.scalar(select(Community.id).order_by(Community.id))
        assert community_id is not None
        await session.execute(
            insert(Person),
            [
                {
                    "community_id": community_id,
                    "telegram_id": user.id,
                    "telegram_name": user.first_name,
                    "name": user.first_name,
                    "status": "approved",
                    "private_chat_open": True,
                }
                for user in users
            ],
        )
        people = dict(
            (
                await session.execute(
                    select(Person.telegram_id, Person.id).where(Person.community_id == community_id)
                )
            ).all()
        )
    return [outbox.Recipient(user.id, person_id=people[user.id]) for user in users]


async def queue(
    harness: SandboxHarness, recipients: list[outbox.Recipient]
) -> tuple[int, float, float]:
    """Queue the broadcast and wake the sender.

    Returns the broadcast's id, the seconds its transaction took, and the bot-clock
    time of its commit as a timestamp.
    """
    assert harness.app is not None
    started = time.perf_counter()
    async with harness.app.sessionmaker.begin() as session:
        community_id = await session.scalar(select(Community.id).order_by(Community.id))
        assert community_id is not None
        now = harness.clock.now()
        broadcast = await outbox.create_broadcast(
            session,
            community_id=community_id,
            recipients=recipients,
            payload=outbox.text_payload(TEXT),
            send_at=now,
            now=now,
            title="Kharif procurement update",
        )
        broadcast_id = broadcast.id
    committed_at = harness.clock.now().timestamp()
    harness.app.outbox.wake()
    return broadcast_id, time.perf_counter() - started, committed_at


async def wait_until_done(harness: SandboxHarness, broadcast_id: int, timeout: float) -> float:
    """Wait for the broadcast to end and return its finished_at as a timestamp."""
    assert harness.app is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with harness.app.sessionmaker() as session:
            finished_at = await session.scalar(
                select(Broadcast.finished_at).where(Broadcast.id == broadcast_id)
            )
        if finished_at is not None:
            return finished_at.timestamp()
        await asyncio.sleep(POLL_S)
    raise SystemExit(f"broadcast {broadcast_id} not finished after {timeout:.0f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=2000, help="number of recipients")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="OUTBOX_RATE: messages per second (1-1000)"
    )
    parser.add_argument(
        "--flood-ratio",
        type=float,
        default=0.02,
        help="share (0-1) of sendMessage requests that get a 429 reply from the sandbox",
    )
    parser.add_argument(
        "--database-url",
        help="an empty database for the bot; default: a new SQLite file in a temporary directory",
    )
    args = parser.parse_args()
    # Per-row log lines (each 429) would cost time inside the measured run.
    logging.basicConfig(level=logging.WARNING)

    tempdir = tempfile.TemporaryDirectory(prefix="bench-broadcast-")
    url = args.database_url or f"sqlite:///{Path(tempdir.name) / 'broadcast.sqlite'}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=None,
        database_url=url,
        redis_url=None,
        facilitator_ids=[],
        default_locale="en",
        outbox_rate=args.rate,
    )
    harness = SandboxHarness(settings, demo=False)
    await harness.start()
    try:
        assert harness.app is not None
        started = time.perf_counter()
        recipients = await add_recipients(harness, args.recipients)
        print(
            f"database: {harness.app.engine.dialect.name}; {len(recipients)} recipients "
            f"created in {time.perf_counter() - started:.1f} s; rate {args.rate:g}/s, "
            f"429 on {args.flood_ratio:.0%} of sendMessage (retry_after 1 s)"
        )
        harness.server.faults.flood_ratio(
            args.flood_ratio, retry_after=1, seed=SEED, methods=["sendMessage"]
        )
        first_request = len(harness.server.requests)
        floor_s = len(recipients) / args.rate

        broadcast_id, queue_s, queued_at = await queue(harness, recipients)
        queued_monotonic = time.monotonic()
        finished_at = await wait_until_done(harness, broadcast_id, timeout=floor_s * 5 + 60)
        wall_s = finished_at - queued_at
        await harness.server.wait_idle(timeout=60)

        requests = [
            request
            for request in harness.server.requests[first_request:]
            if request.method.lower() == "sendmessage"
        ]
        floods = sum(1 for request in requests if request.status == 429)
        arrivals = sorted(request.at for request in requests)
        per_second = Counter(int(moment - arrivals[0]) for moment in arrivals)
        busiest = max(per_second.values())
        steady = statistics.median(list(per_second.values())[1:-1] or [0])
        async with harness.app.sessionmaker() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(OutboxMessage.status, func.count())
                        .where(OutboxMessage.broadcast_id == broadcast_id)
                        .group_by(OutboxMessage.status)
                    )
                ).all()
            )
        copies = Counter(
            message.chat_id for message in harness.server.bot_messages() if TEXT in message.text
        )
        lost = sum(1 for recipient in recipients if copies[recipient.chat_id] == 0)
        duplicated = sum(1 for recipient in recipients if copies[recipient.chat_id] > 1)
        print(
            f"requests: {len(requests)} sendMessage, {floods} answered 429; "
            f"busiest second {busiest}, median second {steady:g}; rows by status {statuses}"
        )
        print(
            f"queueing transaction {queue_s:.2f} s; after its commit, first request at "
            f"{arrivals[0] - queued_monotonic:.3f} s, last at {arrivals[-1] - queued_monotonic:.2f} s"
        )
        print(
            f"recipients={len(recipients)} floor_s={floor_s:.2f} wall_s={wall_s:.2f} "
            f"ratio={wall_s / floor_s:.2f} lost={lost} duplicated={duplicated}"
        )
    finally:
        await harness.stop()
        tempdir.cleanup()


if __name__ == "__main__":
    asyncio.run(main())

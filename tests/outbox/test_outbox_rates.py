"""Send rates measured on the arrival times the sandbox records for each request."""

from __future__ import annotations

import itertools
from typing import Any

from outbox_helpers import (
    add_groups,
    add_pocs,
    arrivals_by_chat,
    copies_by_chat,
    group_recipients,
    max_in_window,
    person_recipients,
    queue_broadcast,
    queue_notices,
    send_requests,
)

from bot.outbox import SenderSettings
from bot.ratelimit import SendLimits
from bot.sandbox.faults import Limits
from bot.sandbox.harness import SandboxHarness
from storage import outbox

# Short group windows, because Telegram's 20 messages per 60 s would make a slow test.
GROUP_LIMITS = SendLimits(
    per_second=30.0, chat_interval_s=0.2, group_per_window=5, group_window_s=3.0
)


def shortest_gaps(arrivals: dict[int, list[float]]) -> dict[int, float]:
    """The shortest time between two consecutive requests to each chat that got more than one."""
    return {
        chat_id: min(later - earlier for earlier, later in itertools.pairwise(moments))
        for chat_id, moments in arrivals.items()
        if len(moments) > 1
    }


def test_default_limits_are_telegrams() -> None:
    limits = SendLimits()
    assert limits.per_second == 30.0
    assert limits.chat_interval_s == 1.0
    assert limits.group_per_window == 20
    assert limits.group_window_s == 60.0


async def test_rates_per_chat_and_total(harness: SandboxHarness, start_sender: Any) -> None:
    per_second = 40.0
    sender = await start_sender(SenderSettings(limits=SendLimits(per_second=per_second)))
    users = await add_pocs(harness, 40)
    since = harness.server.requests[-1].at
    for number in range(3):
        await queue_broadcast(
            harness, person_recipients(users), outbox.text_payload(f"Price bulletin {number}")
        )
    await sender.idle(timeout=60)

    requests = send_requests(harness, since=since)
    copies = copies_by_chat(harness, "Price bulletin")
    assert set(copies.values()) == {3}
    assert len(copies) == len(users)

    gaps = shortest_gaps(arrivals_by_chat(requests))
    assert len(gaps) == len(users) + 1  # the PoCs and the facilitator, who got 3 reports
    assert {chat_id: gap for chat_id, gap in gaps.items() if gap < 1.0} == {}
    moments = sorted(request.at for request in requests)
    assert max_in_window(moments, 1.0) <= per_second
    # The limit binds: 123 requests at 40 per second cannot take much under 3 s.
    assert moments[-1] - moments[0] >= 3.0


async def test_group_window_on_arrivals(harness: SandboxHarness, start_sender: Any) -> None:
    sender = await start_sender(SenderSettings(limits=GROUP_LIMITS))
    groups = await add_groups(harness, 2)
    since = harness.server.requests[-1].at
    await queue_notices(harness, group_recipients(groups), [f"Notice {n}" for n in range(8)])
    await sender.idle(timeout=60)

    arrivals = arrivals_by_chat(send_requests(harness, since=since))
    assert set(arrivals) == {group.id for group in groups}
    for group in groups:
        moments = arrivals[group.id]
        assert len(moments) == 8
        assert max_in_window(moments, GROUP_LIMITS.group_window_s) <= 5
        assert moments[-1] - moments[0] >= GROUP_LIMITS.group_window_s
    gaps = shortest_gaps(arrivals)
    assert {chat_id: gap for chat_id, gap in gaps.items() if gap < 0.2} == {}
    assert set(copies_by_chat(harness, "Notice").values()) == {8}


async def test_sandbox_enforcing_limits_rejects_nothing(
    harness: SandboxHarness, start_sender: Any
) -> None:
    limits = SendLimits(per_second=30.0, group_per_window=5, group_window_s=3.0)
    sender = await start_sender(SenderSettings(limits=limits))
    users = await add_pocs(harness, 30)
    groups = await add_groups(harness, 2)
    harness.server.limits = Limits(
        enforce_rates=True,
        per_chat_interval=limits.chat_interval_s,
        per_group_per_minute=limits.group_per_window,
        group_window_s=limits.group_window_s,
        global_per_second=int(limits.per_second),
    )
    since = harness.server.requests[-1].at
    for number in range(2):
        await queue_broadcast(
            harness,
            [*person_recipients(users), *group_recipients(groups)],
            outbox.text_payload(f"Training dates {number}"),
        )
    await queue_notices(harness, group_recipients(groups), [f"Notice {n}" for n in range(5)])
    await sender.idle(timeout=60)

    requests = send_requests(harness, since=since)
    rejected = [(r.params["chat_id"], r.description) for r in requests if r.status != 200]
    assert rejected == []
    assert set(copies_by_chat(harness, "Training dates").values()) == {2}
    assert len(copies_by_chat(harness, "Training dates")) == len(users) + len(groups)
    assert set(copies_by_chat(harness, "Notice").values()) == {5}

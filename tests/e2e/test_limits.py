"""Long results stay within Telegram's limits: the sandbox rejects what Telegram would."""

from __future__ import annotations

import csv
import io

from e2e_helpers import error, label, question, say, tap

from bot.sandbox.harness import SandboxHarness


def bad_buyers_csv(rows: int) -> bytes:
    """A buyer file whose every row has a long name and an invalid phone."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Buyer Name", "Commodity", "State", "Mobile No."])
    for number in range(rows):
        writer.writerow([f"Buyer {number} " + "x" * 400, "onion", "Maharashtra", "12345"])
    return buffer.getvalue().encode("utf-8")


async def test_long_import_report_fits_message(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    chat = harness.server.private_chat(facilitator)

    await harness.server.send_document(facilitator, chat, bad_buyers_csv(120), filename="bad.csv")
    await harness.server.wait_idle()
    await tap(harness, facilitator, label("imports", "buyers"))

    messages = harness.server.bot_messages(chat)
    report = next(
        message
        for message in messages
        if "bad.csv" in message.text and message.kind == "text" and "120" in message.text
    )
    attachment = messages[-1]
    assert harness.errors == []
    assert len(report.text.encode("utf-16-le")) // 2 <= 4096
    assert "Row 2" in report.text
    assert attachment.kind == "document"
    assert attachment.document_name == "bad-import-report.txt"


async def test_too_many_commodities_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha Patil")
    await tap(harness, asha, "PRADAN")
    await say(harness, asha, "programme manager")
    await say(harness, asha, "/skip")
    await say(harness, asha, "MH")

    reply = await say(harness, asha, ", ".join(f"crop{number}" for number in range(25)))

    assert "25" in reply.text
    assert reply.html == question(
        "registration/q_commodities", reason=error("list_too_many", count=25, maximum=20)
    )
    assert harness.errors == []

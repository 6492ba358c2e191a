"""Asks, gives and /mine through the sandbox: filing, announcing, who may file, and editing."""

from __future__ import annotations

import datetime as dt

import pytest
from asks_steps import (
    add_entries,
    alert,
    approved_poc,
    button_data,
    cop_group,
    edit_field,
    file_entry,
    load_entries,
    load_entry,
    open_edit,
    press,
)
from e2e_form_helpers import press_on, question_to, reply
from e2e_helpers import TEXTS, Answers, label, register, render, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.texts import MESSAGE_LIMIT, utf16_length
from handlers.asks import Announcement, entry_view
from handlers.callbacks import MineAction
from storage.models import Bso, Contribution, GroupChat

TIMEZONE = "Asia/Kolkata"


async def test_ask_filed_and_announced(harness: SandboxHarness) -> None:
    user = await approved_poc(harness, "asha")
    group = await cop_group(harness)

    await say(harness, user, "/ask")
    await tap(harness, user, label("themes", "finance"))
    await say(harness, user, "Working capital for onion aggregation")
    await say(harness, user, "Our FPOs need 20 lakh before the rabi harvest.")
    await say(harness, user, "onion")
    await say(harness, user, "/skip")
    await tap(harness, user, label("asks", "high"))
    await tap(harness, user, label("asks", "peer"))
    await tap(harness, user, label("asks", "expert"))
    await tap(harness, user, label("forms", "done"))
    summary = await tap(harness, user, label("forms", "no"))
    assert "Working capital" in summary.text
    reply = await tap(harness, user, label("forms", "confirm"))

    entries = await load_entries(harness)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.commodities == ["onion"]
    assert entry.states == []
    assert entry.help_kinds == ["peer", "expert"]
    assert entry.urgency == "high"
    assert entry.private is False
    assert entry.status == "open"
    theme = label("themes", "finance")
    assert reply.html == render(
        "asks/ask/saved", entry=entry, theme=theme, edited=False, group_note="told", groups_told=1
    )
    note = harness.server.last_bot_message(group)
    assert note.html == render("asks/ask/announce", entry=entry, theme=theme)


async def test_give_announced_in_cop_group(harness: SandboxHarness) -> None:
    user = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="Vrutti"))
    group = await cop_group(harness)

    reply = await file_entry(
        harness, user, "give", theme="market_access", title="Onion buyers in Pune"
    )

    [entry] = await load_entries(harness)
    theme = label("themes", "market_access")
    assert entry.kind == "give"
    assert entry.urgency is None
    assert entry.help_kinds == ["tool"]
    assert reply.html == render(
        "asks/give/saved", entry=entry, theme=theme, edited=False, group_note="told", groups_told=1
    )
    assert harness.server.last_bot_message(group).html == render(
        "asks/give/announce", entry=entry, theme=theme
    )


async def test_private_ask_not_announced(harness: SandboxHarness) -> None:
    user = await approved_poc(harness, "asha")
    group = await cop_group(harness)
    before = len(harness.server.bot_messages(group))

    reply = await file_entry(harness, user, private=True)

    [entry] = await load_entries(harness)
    assert entry.private is True
    assert reply.html == render(
        "asks/ask/saved",
        entry=entry,
        theme=label("themes", "finance"),
        edited=False,
        group_note=None,
        groups_told=0,
    )
    assert len(harness.server.bot_messages(group)) == before


async def test_ask_without_cop_group_says_so(harness: SandboxHarness) -> None:
    user = await approved_poc(harness, "asha")
    pod = await cop_group(harness, "Nashik pod", kind="pod")
    before = len(harness.server.bot_messages(pod))

    reply_message = await file_entry(harness, user)

    [entry] = await load_entries(harness)
    assert reply_message.html == render(
        "asks/ask/saved",
        entry=entry,
        theme=label("themes", "finance"),
        edited=False,
        group_note="no_group",
        groups_told=0,
    )
    assert "/groupkind" in reply_message.text
    assert "on its way" not in reply_message.text
    assert len(harness.server.bot_messages(pod)) == before


async def test_ask_filed_in_only_cop_group(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    group = await cop_group(harness)

    await say(harness, asha, "/ask", chat=group)
    theme_question = question_to(harness, group, asha)
    await press_on(harness, asha, group, theme_question, label("themes", "finance"))
    await reply(harness, asha, group, "Working capital for onion aggregation")
    await reply(harness, asha, group, "Our FPOs need 20 lakh before the rabi harvest.")
    await reply(harness, asha, group, "onion")
    await say(harness, asha, "/skip", chat=group)
    urgency = question_to(harness, group, asha)
    await press_on(harness, asha, group, urgency, label("asks", "high"))
    await reply(harness, asha, group, "peer")
    summary = question_to(harness, group, asha)
    await press_on(harness, asha, group, summary, label("forms", "no"))
    summary = question_to(harness, group, asha)
    await press_on(harness, asha, group, summary, label("forms", "confirm"))

    [entry] = await load_entries(harness)
    saved = harness.server.last_bot_message(group)
    expected = render(
        "asks/ask/saved",
        entry=entry,
        theme=label("themes", "finance"),
        edited=False,
        group_note=None,
        groups_told=0,
    )
    assert expected in (saved.html or "")
    assert "on its way" not in saved.text
    announce = render("asks/ask/announce", entry=entry, theme=label("themes", "finance"))
    assert all(message.html != announce for message in harness.server.bot_messages(group))


async def test_announcement_outcomes() -> None:
    to_two = Announcement(text="New ask", chat_ids=[-1, -2], cop_group_exists=True)
    only_here = Announcement(text="New ask", chat_ids=[], cop_group_exists=True)
    no_group = Announcement(text="New ask", chat_ids=[], cop_group_exists=False)

    assert to_two.outcome(2) == "told"
    assert only_here.outcome(0) is None
    assert no_group.outcome(0) == "no_group"


async def test_removed_group_marked_inactive(
    harness: SandboxHarness,
) -> None:
    """The outbox marks a CoP group that removed the bot inactive; other groups get the note."""
    asha = await approved_poc(harness, "asha")
    gone = await cop_group(harness, "Old CoP group")
    kept = await cop_group(harness, "CoP all")
    gone.bot_status = "left"

    await file_entry(harness, asha)

    [entry] = await load_entries(harness)
    announce = render("asks/ask/announce", entry=entry, theme=label("themes", "finance"))
    assert [m.html for m in harness.server.bot_messages(kept)].count(announce) == 1
    assert all(m.html != announce for m in harness.server.bot_messages(gone))
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        group = await session.scalar(select(GroupChat).where(GroupChat.telegram_chat_id == gone.id))
    assert group is not None and group.active is False
    assert harness.errors == []


@pytest.mark.parametrize("locale", ["en", "hi"])
@pytest.mark.parametrize("kind", ["ask", "give"])
@pytest.mark.parametrize("private", [False, True])
@pytest.mark.parametrize("edited", [False, True])
@pytest.mark.parametrize(
    ("group_note", "groups_told"),
    [(None, 0), ("told", 1), ("told", 2), ("no_group", 0)],
)
def test_saved_message_spacing(
    locale: str, kind: str, private: bool, edited: bool, group_note: str | None, groups_told: int
) -> None:
    entry = Contribution(title="Loan templates", private=private)

    text = render(
        f"asks/{kind}/saved",
        locale,
        entry=entry,
        theme="Finance",
        edited=edited,
        group_note=group_note,
        groups_told=groups_told,
    )

    assert "  " not in text
    assert "\n" not in text
    assert text.endswith("/mine" + ("." if locale == "en" else " से देखें।"))


def test_saved_message_counts_groups() -> None:
    entry = Contribution(title="Loan templates", private=False)

    def told(count: int, locale: str) -> str:
        return render(
            "asks/ask/saved",
            locale,
            entry=entry,
            theme="Finance",
            edited=False,
            group_note="told",
            groups_told=count,
        )

    assert "A note is on its way to the CoP group." in told(1, "en")
    assert "A note is on its way to 2 CoP groups." in told(2, "en")
    assert "CoP ग्रुप को सूचना भेजी जा रही है।" in told(1, "hi")
    assert "2 CoP ग्रुपों को सूचना भेजी जा रही है।" in told(2, "hi")


@pytest.mark.parametrize(
    ("status", "word"),
    [
        ("open", "खुली"),
        ("in_progress", "जारी"),
        ("addressed", "पूरी हुई"),
        ("withdrawn", "वापस ली गई"),
    ],
)
def test_hindi_status_words(status: str, word: str) -> None:
    # माँग, पेशकश and प्रविष्टि are feminine, so each status word takes its feminine form.
    assert label("asks", f"status_{status}", "hi") == word


@pytest.mark.parametrize("command", ["/ask", "/give", "/mine"])
async def test_never_registered_refused(harness: SandboxHarness, command: str) -> None:
    stranger = harness.server.user("stranger")

    reply = await say(harness, stranger, command)

    assert reply.html == render("asks/pocs_only", command=command)
    assert await load_entries(harness) == []


@pytest.mark.parametrize("command", ["/ask", "/give", "/mine"])
async def test_pending_poc_refused(harness: SandboxHarness, command: str) -> None:
    pending = harness.server.user("pending")
    await register(harness, pending)

    reply = await say(harness, pending, command)

    assert reply.html == render("asks/pending_only", command=command)
    assert await load_entries(harness) == []


async def test_hindi_ask_with_typed_theme(harness: SandboxHarness) -> None:
    user = await approved_poc(harness, "sunita", Answers(name="Sunita Devi", language="hi"))
    group = await cop_group(harness)

    question = await say(harness, user, "/ask")
    assert render("asks/ask/q_theme", "hi") in question.html
    await say(harness, user, "वित्त")
    await say(harness, user, "प्याज़ के लिए कार्यशील पूँजी")
    await say(harness, user, "हमारे FPO को रबी से पहले 20 लाख चाहिए।")
    await say(harness, user, "प्याज़")
    await say(harness, user, "/skip")
    await tap(harness, user, label("asks", "high", "hi"))
    await tap(harness, user, label("asks", "peer", "hi"))
    await tap(harness, user, label("forms", "done", "hi"))
    await tap(harness, user, label("forms", "no", "hi"))
    reply = await tap(harness, user, label("forms", "confirm", "hi"))

    [entry] = await load_entries(harness)
    assert entry.theme.key == "finance"
    assert entry.commodities == ["onion"]
    assert entry.title == "प्याज़ के लिए कार्यशील पूँजी"
    assert reply.html == render(
        "asks/ask/saved",
        "hi",
        entry=entry,
        theme=label("themes", "finance", "hi"),
        edited=False,
        group_note="told",
        groups_told=1,
    )
    # The CoP group reads the community's default language.
    assert harness.server.last_bot_message(group).html == render(
        "asks/ask/announce", entry=entry, theme=label("themes", "finance")
    )
    listing = await say(harness, user, "/mine")
    assert label("asks", "status_open", "hi") in listing.text


# --- /mine -------------------------------------------------------------------------------------


async def test_mine_lists_bso_entries_for_every_poc(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha, title="Working capital for onion")
    await file_entry(harness, asha, "give", theme="technology", title="Farm app", private=True)
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="Vrutti"))
    await file_entry(harness, ravi, title="Cold storage near Nashik")
    # A second PoC of the same BSO sees the same list.
    meena = await approved_poc(harness, "meena", Answers(name="Meena Rao", phone="91234 56789"))

    listing = await say(harness, meena, "/mine")

    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        pradan = await session.scalar(select(Bso).where(Bso.short_name == "PRADAN"))
        entries = (
            await session.scalars(
                select(Contribution)
                .where(Contribution.bso_id == pradan.id)
                .order_by(Contribution.id.desc())
            )
        ).all()
    t = TEXTS.bind("en")
    views = [entry_view(t, entry, TIMEZONE) for entry in entries]
    expected = render("asks/mine/list", bso=pradan, items=views, total=2, page=0, pages=1, first=1)
    assert listing.html == expected
    assert "Cold storage" not in listing.text
    assert listing.button_texts() == ["1", "2"]


async def test_mine_in_group_private_only(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    group = await cop_group(harness)

    reply = await say(harness, asha, "/mine", chat=group)

    assert reply.html == render("asks/mine/private_only")


async def test_mine_empty_list(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")

    listing = await say(harness, asha, "/mine")

    assert "/ask" in listing.text
    assert listing.buttons == []


async def test_mine_edit_title_updates_row(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    group = await cop_group(harness)
    await file_entry(harness, asha, title="Working capital for onion")
    announcements = len(harness.server.bot_messages(group))
    [filed] = await load_entries(harness)

    await say(harness, asha, "/mine")
    await tap(harness, asha, "1")
    summary = await tap(harness, asha, label("asks/mine", "edit"))
    assert "Working capital for onion" in summary.text
    assert label("forms", "confirm") in summary.button_texts()
    title_label = label("asks/ask", "title")
    question = await tap(harness, asha, TEXTS.label("en", "forms", "edit", field=title_label))
    assert render("asks/ask/q_title") in question.html
    await say(harness, asha, "Working capital for tur dal")
    reply = await tap(harness, asha, label("forms", "confirm"))

    entries = await load_entries(harness)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.id == filed.id
    assert entry.title == "Working capital for tur dal"
    assert entry.description == filed.description
    assert entry.commodities == filed.commodities
    assert entry.help_kinds == filed.help_kinds
    assert entry.urgency == filed.urgency
    assert reply.html == render(
        "asks/ask/saved",
        entry=entry,
        theme=label("themes", "finance"),
        edited=True,
        group_note=None,
        groups_told=0,
    )
    assert "  " not in reply.text
    assert len(harness.server.bot_messages(group)) == announcements
    assert harness.errors == []


async def test_mine_edit_double_tap_opens_one_form(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha)
    await say(harness, asha, "/mine")
    card = await tap(harness, asha, "1")
    edit = button_data(card, label("asks/mine", "edit"))

    first = await press(harness, asha, card, edit)
    sent = len(harness.server.bot_messages(harness.server.private_chat(asha)))
    second = await press(harness, asha, card, edit)

    assert first is not None and not first.get("show_alert")
    assert second is not None
    assert second["text"] == alert("asks/mine/already_editing")
    assert len(harness.server.bot_messages(harness.server.private_chat(asha))) == sent


async def test_mine_edit_after_expiry_restarts(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha)
    await say(harness, asha, "/mine")
    card = await tap(harness, asha, "1")
    edit = button_data(card, label("asks/mine", "edit"))
    await press(harness, asha, card, edit)
    assert harness.app is not None
    harness.clock.advance(dt.timedelta(hours=harness.app.settings.form_ttl_hours + 1))

    answer = await press(harness, asha, card, edit)

    assert answer is not None
    assert answer.get("text") != alert("asks/mine/already_editing")
    summary = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert label("forms", "confirm") in summary.button_texts()


async def test_mine_concurrent_edits_of_different_fields(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    meena = await approved_poc(harness, "meena", Answers(name="Meena Rao", phone="91234 56789"))
    await file_entry(harness, asha, title="Working capital for onion")
    await open_edit(harness, asha)
    await open_edit(harness, meena)

    await edit_field(harness, asha, "title")
    await say(harness, asha, "Working capital for tur dal")
    first = await tap(harness, asha, label("forms", "confirm"))
    await edit_field(harness, meena, "urgency")
    await tap(harness, meena, label("asks", "low"))
    second = await tap(harness, meena, label("forms", "confirm"))

    [entry] = await load_entries(harness)
    assert entry.title == "Working capital for tur dal"
    assert entry.urgency == "low"
    theme = label("themes", "finance")
    saved = render(
        "asks/ask/saved", entry=entry, theme=theme, edited=True, group_note=None, groups_told=0
    )
    assert "⚠️" not in first.text
    conflict = render("asks/edit_conflict", overwritten=[], kept=[label("asks/ask", "title")])
    assert second.html == saved + "\n\n" + conflict


async def test_mine_concurrent_edits_of_same_field(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    meena = await approved_poc(harness, "meena", Answers(name="Meena Rao", phone="91234 56789"))
    await file_entry(harness, asha, title="Working capital for onion")
    await open_edit(harness, asha)
    await open_edit(harness, meena)

    await edit_field(harness, asha, "title")
    await say(harness, asha, "Working capital for tur dal")
    await edit_field(harness, asha, "states")
    await say(harness, asha, "Maharashtra")
    await tap(harness, asha, label("forms", "confirm"))
    await edit_field(harness, meena, "title")
    await say(harness, meena, "Working capital for soybean")
    second = await tap(harness, meena, label("forms", "confirm"))

    [entry] = await load_entries(harness)
    # The later confirm wins the field both changed, and the other field keeps Asha's change.
    assert entry.title == "Working capital for soybean"
    assert entry.states == ["Maharashtra"]
    conflict = render(
        "asks/edit_conflict",
        overwritten=[(label("asks/ask", "title"), "Working capital for tur dal")],
        kept=[label("asks/ask", "states")],
    )
    assert second.html is not None
    assert second.html.endswith("\n\n" + conflict)
    assert "Working capital for tur dal" in second.text


async def test_mine_edit_after_withdrawal_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    meena = await approved_poc(harness, "meena", Answers(name="Meena Rao", phone="91234 56789"))
    await file_entry(harness, asha, title="Working capital for onion")
    await open_edit(harness, asha)
    await say(harness, meena, "/mine")
    await tap(harness, meena, "1")
    await tap(harness, meena, label("asks/mine", "withdraw"))
    await tap(harness, meena, label("asks/mine", "withdraw_yes"))

    await edit_field(harness, asha, "title")
    await say(harness, asha, "Working capital for tur dal")
    reply_message = await tap(harness, asha, label("forms", "confirm"))

    [entry] = await load_entries(harness)
    assert entry.status == "withdrawn"
    assert entry.title == "Working capital for onion"
    assert reply_message.html == render("asks/gone")


async def test_mine_edit_of_replaced_theme_keeps_it(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha, theme="finance")
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))
    await say(harness, facilitator, "Market access, Technology, Governance")
    await tap(harness, facilitator, label("forms", "confirm"))

    await say(harness, asha, "/mine")
    card = await tap(harness, asha, "1")
    assert label("themes", "finance") in card.text
    await tap(harness, asha, label("asks/mine", "edit"))
    await tap(harness, asha, TEXTS.label("en", "forms", "edit", field=label("asks/ask", "title")))
    await say(harness, asha, "Working capital, still under finance")
    reply = await tap(harness, asha, label("forms", "confirm"))

    [entry] = await load_entries(harness)
    assert entry.title == "Working capital, still under finance"
    assert entry.theme.key == "finance"
    assert entry.theme.active is False
    assert "Working capital, still under finance" in reply.text


async def test_mine_withdraw_needs_confirm(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha)
    [entry] = await load_entries(harness)

    await say(harness, asha, "/mine")
    await tap(harness, asha, "1")
    asked = await tap(harness, asha, label("asks/mine", "withdraw"))
    assert (await load_entry(harness, entry.id)).status == "open"
    assert asked.button_texts() == [
        label("asks/mine", "withdraw_yes"),
        label("asks/mine", "withdraw_keep"),
    ]
    kept = await tap(harness, asha, label("asks/mine", "withdraw_keep"))
    assert (await load_entry(harness, entry.id)).status == "open"
    assert label("asks/mine", "withdraw") in kept.button_texts()

    await tap(harness, asha, label("asks/mine", "withdraw"))
    confirm = button_data(asked, label("asks/mine", "withdraw_yes"))
    done = await press(harness, asha, asked, confirm)
    again = await press(harness, asha, asked, confirm)

    withdrawn = await load_entry(harness, entry.id)
    assert withdrawn.status == "withdrawn"
    assert done is not None and not done.get("show_alert")
    assert again is not None
    assert again["text"] == alert("asks/mine/unchanged", status=label("asks", "status_withdrawn"))
    card = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert render("asks/mine/set_withdrawn") in card.html
    assert card.button_texts() == [label("asks/mine", "back")]


async def test_mine_withdrawn_entry_not_editable(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    [entry_id] = await add_entries(harness, asha, 1, status="withdrawn")
    card = await say(harness, asha, "/mine")

    answer = await press(harness, asha, card, MineAction(action="edit", entry_id=entry_id).pack())

    assert answer is not None
    assert answer["text"] == alert("asks/mine/no_edit_withdrawn")
    assert (await load_entry(harness, entry_id)).status == "withdrawn"
    assert harness.server.last_bot_message(harness.server.private_chat(asha)).message_id == (
        card.message_id
    )


async def test_mine_mark_addressed_once(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha)
    [entry] = await load_entries(harness)
    await say(harness, asha, "/mine")
    card = await tap(harness, asha, "1")
    addressed = button_data(card, label("asks/mine", "addressed"))

    first = await press(harness, asha, card, addressed)
    second = await press(harness, asha, card, addressed)

    assert (await load_entry(harness, entry.id)).status == "addressed"
    assert first is not None and not first.get("show_alert")
    assert second is not None
    assert second["text"] == alert("asks/mine/unchanged", status=label("asks", "status_addressed"))
    shown = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert render("asks/mine/set_addressed") in shown.html
    assert label("asks/mine", "reopen") in shown.button_texts()

    await tap(harness, asha, label("asks/mine", "reopen"))
    assert (await load_entry(harness, entry.id)).status == "open"


async def test_mine_forged_other_bso_entry_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="Vrutti"))
    await file_entry(harness, ravi, title="Cold storage near Nashik")
    [theirs] = await load_entries(harness)
    listing = await say(harness, asha, "/mine")

    for action in ("open", "edit", "addressed", "withdraw", "withdraw_yes", "reopen"):
        data = MineAction(action=action, entry_id=theirs.id).pack()
        answer = await press(harness, asha, listing, data)
        assert answer is not None, action
        assert answer["text"] == alert("asks/mine/not_yours"), action

    unchanged = await load_entry(harness, theirs.id)
    assert unchanged.status == "open"
    assert unchanged.title == "Cold storage near Nashik"
    # No form was opened for the forged Edit.
    last = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert last.message_id == listing.message_id


async def test_mine_button_after_data_deleted(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha)
    [entry] = await load_entries(harness)
    await say(harness, asha, "/mine")
    card = await tap(harness, asha, "1")
    withdraw = button_data(card, label("asks/mine", "withdraw"))
    await say(harness, asha, "/me")
    await tap(harness, asha, label("common", "forget"))
    await tap(harness, asha, label("common", "forget_confirm"))

    answer = await press(harness, asha, card, withdraw)

    assert answer is not None
    assert answer["text"] == alert("asks/pocs_only", command="/mine")
    assert (await load_entry(harness, entry.id)).status == "open"


@pytest.mark.parametrize(
    "data",
    ["mi1:open:99999999999999999999:0", "mi1:page:0:99999999999999999999", "mi1:open:-1:0"],
)
async def test_mine_oversized_ids_rejected(harness: SandboxHarness, data: str) -> None:
    asha = await approved_poc(harness, "asha")
    listing = await say(harness, asha, "/mine")

    answer = await press(harness, asha, listing, data)

    assert answer is not None
    assert answer["text"] == alert("common/button_unknown")
    assert harness.errors == []


async def test_mine_unknown_action_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    [entry_id] = await add_entries(harness, asha, 1)
    listing = await say(harness, asha, "/mine")

    answer = await press(harness, asha, listing, f"mi1:delete:{entry_id}:0")

    assert answer is not None
    assert answer["text"] == alert("common/button_unknown")
    assert (await load_entry(harness, entry_id)).status == "open"


async def test_mine_long_list_paged(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await add_entries(harness, asha, 25, title="प" * 120, private=True)

    first = await say(harness, asha, "/mine")
    # The sandbox updates a message's record in place when the bot edits it.
    first_text, first_buttons = first.text, first.button_texts()
    second = await tap(harness, asha, label("asks/mine", "next"))

    assert utf16_length(first_text) <= MESSAGE_LIMIT
    assert "page 1 of 3" in first_text
    assert first_buttons == [*map(str, range(1, 11)), label("asks/mine", "next")]
    assert second.message_id == first.message_id
    assert utf16_length(second.text) <= MESSAGE_LIMIT
    assert "page 2 of 3" in second.text
    assert second.button_texts() == [
        *map(str, range(11, 21)),
        label("asks/mine", "previous"),
        label("asks/mine", "next"),
    ]
    card = await tap(harness, asha, "11")
    assert label("asks/mine", "back") in card.button_texts()
    back = await tap(harness, asha, label("asks/mine", "back"))
    assert "page 2 of 3" in back.text
    assert harness.errors == []

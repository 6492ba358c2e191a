"""Forged callback data, group kinds, commands addressed to the bot, forum topics, help and menus."""

from __future__ import annotations

from e2e_helpers import (
    Answers,
    callback_answer_for,
    decision_data,
    label,
    load_group,
    load_person,
    register,
    render,
    say,
    tap,
)

from bot.commands import (
    FACILITATOR_COMMANDS,
    FACILITATOR_HELP,
    GROUP_COMMANDS,
    MEMBER_HELP,
    PRIVATE_COMMANDS,
)
from bot.sandbox.harness import SandboxHarness


async def test_approve_by_member_rejected(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    review = await register(harness, ravi, Answers(name="Ravi Kumar"))
    ravi_chat = server.private_chat(ravi)
    own_message = server.last_bot_message(ravi_chat)

    update = await server.press_data(
        ravi, ravi_chat, own_message.message_id, decision_data(review, "approve")
    )
    await server.wait_idle()

    person = await load_person(harness, ravi)
    assert person is not None
    assert person.status == "pending"
    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert answer["text"] == str(render("common/facilitators_only"))
    assert answer["show_alert"] is True
    assert server.last_bot_message(ravi_chat).message_id == own_message.message_id
    assert harness.errors == []


async def test_garbage_callback_data_no_crash(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    await say(harness, ravi, "/help")
    chat = server.private_chat(ravi)
    message_id = server.last_bot_message(chat).message_id
    garbage = [
        "",
        "zzz",
        "dc1",
        "dc1:approve",
        "dc1:approve:abc",
        "dc1:approve:999999",
        "rg1:bso:99999",
        "rg1:confirm",
        "lk1:page:999999:0",
        "lk1:open:1:-5",
        "lk1:page:1:x",
        "gk1:cop:0",
        "im1:buyers",
        "fm1:confirm:extra",
        "x" * 64,
    ]
    updates = []

    for data in garbage:
        updates.append(await server.press_data(ravi, chat, message_id, data))
        await server.wait_idle()

    assert harness.errors == []
    person = await load_person(harness, ravi)
    assert person is not None
    assert person.status == "new"
    unanswered = [
        data
        for data, update in zip(garbage, updates, strict=True)
        if callback_answer_for(harness, update) is None
    ]
    assert unanswered == []


async def test_facilitator_unknown_person_decision(harness: SandboxHarness) -> None:
    server = harness.server
    chat = server.private_chat(harness.facilitator)
    await say(harness, harness.facilitator, "/help")

    update = await server.press_data(
        harness.facilitator, chat, server.last_bot_message(chat).message_id, "dc1:approve:999999"
    )
    await server.wait_idle()

    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert answer["text"] == str(render("registration/decision_unknown"))
    assert harness.errors == []


async def test_groupkind_by_member_refused(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    group = server.group("Onion task force", added_by=ravi)

    reply = await say(harness, ravi, "/groupkind", chat=group)

    assert reply.html == render("common/facilitators_only")
    assert reply.buttons == []


async def test_groupkind_by_facilitator_sets_kind(harness: SandboxHarness) -> None:
    server = harness.server
    group = server.group("Onion task force", added_by=harness.facilitator)

    question = await say(harness, harness.facilitator, "/groupkind", chat=group)
    assert question.button_texts() == [
        label("groups", kind) for kind in ("cop", "bso", "task_force", "pod")
    ]
    done = await tap(harness, harness.facilitator, label("groups", "task_force"), chat=group)

    stored = await load_group(harness, group)
    assert stored is not None
    assert stored.kind == "task_force"
    assert done.html == render(
        "groups/kind_set", group=stored, kind=label("groups", "task_force"), bso=None
    )
    assert harness.errors == []


async def test_groupkind_bso_team_records_bso(harness: SandboxHarness) -> None:
    server = harness.server
    group = server.group("PRADAN team", added_by=harness.facilitator)
    await say(harness, harness.facilitator, "/groupkind", chat=group)
    await tap(harness, harness.facilitator, label("groups", "bso"), chat=group)

    done = await tap(harness, harness.facilitator, "PRADAN", chat=group)

    stored = await load_group(harness, group)
    assert stored is not None
    assert stored.kind == "bso"
    assert stored.bso_id is not None
    assert "Professional Assistance for Development Action" in done.text


async def test_groupkind_button_by_member_refused(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    group = server.group("Onion task force", added_by=harness.facilitator)
    await say(harness, harness.facilitator, "/groupkind", chat=group)

    await tap(harness, ravi, label("groups", "cop"), chat=group)

    stored = await load_group(harness, group)
    assert stored is not None
    assert stored.kind != "cop"
    assert server.callback_answers[-1]["text"] == str(render("common/facilitators_only"))


async def test_bot_added_introduces_itself(harness: SandboxHarness) -> None:
    server = harness.server
    group = server.group("Onion task force", added_by=server.user("ravi"))
    await server.wait_idle()

    stored = await load_group(harness, group)
    assert stored is not None
    intro = server.last_bot_message(group)
    assert intro.html == render(
        "groups/introduction", bot_username=server.bot_username, group=stored
    )


async def test_help_addressed_to_bot_in_group(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    group = server.group("Onion task force", added_by=ravi)

    reply = await say(harness, ravi, f"/help@{server.bot_username}", chat=group)

    person = await load_person(harness, ravi)
    assert reply.html == render(
        "common/help", commands=GROUP_COMMANDS, person=person, is_facilitator=False
    )


async def test_command_for_other_bot_ignored(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    group = server.group("Onion task force", added_by=ravi)
    await server.wait_idle()
    before = len(server.bot_messages(group))

    await server.send_text(ravi, group, "/help@some_other_bot")
    await server.wait_idle()

    assert len(server.bot_messages(group)) == before


async def test_forum_topic_reply_in_same_topic(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    forum = server.group("CoP forum", forum=True, added_by=ravi)
    topic = server.topic(forum, "Buyers")
    await server.wait_idle()

    await server.send_text(ravi, forum, "/buyers onion", thread_id=topic)
    await server.wait_idle()
    page = server.last_bot_message(forum)
    await server.press(ravi, forum, "1", thread_id=topic)
    await server.wait_idle()
    details = server.last_bot_message(forum)

    assert page.thread_id == topic
    assert page.button_texts()[0] == "1"
    assert details.thread_id == topic
    assert "Phone:" not in details.text
    assert harness.errors == []


async def test_help_facilitator_lists_pending(harness: SandboxHarness) -> None:
    reply = await say(harness, harness.facilitator, "/help")

    person = await load_person(harness, harness.facilitator)
    assert reply.html == render(
        "common/help", commands=FACILITATOR_HELP, person=person, is_facilitator=True
    )
    assert "/pending" in reply.text
    assert "/import" in reply.text


async def test_help_member_omits_pending(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    reply = await say(harness, ravi, "/help")

    person = await load_person(harness, ravi)
    assert reply.html == render(
        "common/help", commands=MEMBER_HELP, person=person, is_facilitator=False
    )
    assert "/pending" not in reply.text
    assert "/register" in reply.text


async def test_command_menus_per_scope(harness: SandboxHarness) -> None:
    server = harness.server
    # harness.start() can return before polling (and the startup hook) has begun;
    # one handled message proves the menus were set.
    await say(harness, server.user("ravi"), "/help")

    private = [command["command"] for command in server.commands({"type": "all_private_chats"})]
    groups = [command["command"] for command in server.commands({"type": "all_group_chats"})]
    private_hi = server.commands({"type": "all_private_chats"}, language_code="hi")
    facilitator = [
        command["command"]
        for command in server.commands({"type": "chat", "chat_id": harness.facilitator.id})
    ]

    assert private == list(PRIVATE_COMMANDS)
    assert groups == list(GROUP_COMMANDS)
    assert facilitator == list(FACILITATOR_COMMANDS)
    assert [command["description"] for command in private_hi] == [
        label("commands", name, "hi") for name in PRIVATE_COMMANDS
    ]

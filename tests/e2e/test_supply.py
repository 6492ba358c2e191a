"""Supply profiles through the sandbox: /supply's list, its form, deleting, and the check-in's offer."""

from __future__ import annotations

from typing import Any

import pytest
from asks_steps import alert, approved_poc, bso_id_of, button_data, cop_group, press
from e2e_helpers import Answers, error, label, render, say, tap
from sqlalchemy import select
from test_progress import START, file_checkin

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from handlers.callbacks import SupplyAction
from storage import supply as supply_store
from storage.models import Person, SupplyProfile
from storage.normalize import load_commodities, load_states

PROMPTS = "supply"


def edit_label(number: int, commodity: str, locale: str = "en") -> str:
    return label(PROMPTS, "edit", locale, number=number, commodity=commodity)


def summary_edit(field: str) -> str:
    return label("forms", "edit", "en", field=label(PROMPTS, field))


async def add_profile(
    harness: SandboxHarness,
    user: SandboxUser,
    answers: tuple[str, ...] = ("Mango", "Alphonso", "MH", "Ratnagiri", "Mar-May", "500 t"),
    locale: str = "en",
) -> BotMessage:
    """Open /supply, press Add, answer the six questions and confirm; return the list shown."""
    await say(harness, user, "/supply")
    await tap(harness, user, label(PROMPTS, "add", locale))
    for answer in answers:
        summary = await say(harness, user, answer)
    assert summary.buttons, f"expected the summary, got: {summary.text}"
    return await tap(harness, user, label("forms", "confirm", locale))


async def load_profiles(harness: SandboxHarness, bso: str | None = None) -> list[SupplyProfile]:
    assert harness.app is not None
    query = select(SupplyProfile).order_by(SupplyProfile.id)
    if bso is not None:
        query = query.where(SupplyProfile.bso_id == await bso_id_of(harness, bso))
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(query)).all())


async def test_supply_add_in_english(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    empty = await say(harness, asha, "/supply")
    assert label(PROMPTS, "add") in empty.button_texts()

    listing = await add_profile(
        harness,
        asha,
        ("Mango", "Alphonso", "MH, Karnataka", "Ratnagiri, Dharwad", "Nov-Feb", "500 quintal"),
    )

    [profile] = await load_profiles(harness, "PRADAN")
    assert profile.commodity == "mango"
    assert profile.variety == "Alphonso"
    assert profile.states == ["Maharashtra", "Karnataka"]
    assert profile.districts == ["Ratnagiri", "Dharwad"]
    assert profile.harvest_months == [1, 2, 11, 12]
    assert profile.volume_tonnes == 50.0
    assert render("supply/saved", commodity="mango", edited=False) in listing.html
    assert "Nov–Feb" in listing.text
    assert "50 tonnes" in listing.text
    assert edit_label(1, "mango") in listing.button_texts()


async def test_supply_add_in_hindi(harness: SandboxHarness) -> None:
    meera = await approved_poc(harness, "meera", Answers(name="Meera Devi", language="hi"))

    listing = await add_profile(
        harness,
        meera,
        ("प्याज़", "/skip", "महाराष्ट्र और मध्य प्रदेश", "/skip", "नवंबर से फ़रवरी तक", "20 टन"),
        locale="hi",
    )

    [profile] = await load_profiles(harness, "PRADAN")
    assert profile.commodity == "onion"
    assert profile.variety is None
    assert profile.states == ["Maharashtra", "Madhya Pradesh"]
    assert profile.districts == []
    assert profile.harvest_months == [1, 2, 11, 12]
    assert profile.volume_tonnes == 20.0
    assert "नव॰–फ़र॰" in listing.text
    assert "20 टन" in listing.text


async def test_supply_edit_months(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    listing = await add_profile(harness, asha)

    summary = await tap(harness, asha, edit_label(1, "mango"))
    assert summary_edit("harvest_months") in summary.button_texts()
    await tap(harness, asha, summary_edit("harvest_months"))
    await say(harness, asha, "Apr to June")
    updated = await tap(harness, asha, label("forms", "confirm"))

    [profile] = await load_profiles(harness, "PRADAN")
    assert profile.harvest_months == [4, 5, 6]
    assert profile.variety == "Alphonso"
    assert render("supply/saved", commodity="mango", edited=True) in updated.html
    assert listing.message_id != updated.message_id


async def test_supply_delete_needs_confirmation(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await add_profile(harness, asha)

    confirm = await tap(harness, asha, label(PROMPTS, "delete", number=1))
    assert label(PROMPTS, "delete_yes") in confirm.button_texts()
    kept = await tap(harness, asha, label(PROMPTS, "delete_keep"))
    assert len(await load_profiles(harness, "PRADAN")) == 1
    assert edit_label(1, "mango") in kept.button_texts()

    await tap(harness, asha, label(PROMPTS, "delete", number=1))
    deleted = await tap(harness, asha, label(PROMPTS, "delete_yes"))

    assert await load_profiles(harness, "PRADAN") == []
    assert render("supply/deleted", commodity="mango") in deleted.html


async def test_supply_duplicate_commodity_asked_again(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar"))
    await add_profile(harness, asha)

    await say(harness, ravi, "/supply")
    await tap(harness, ravi, label(PROMPTS, "add"))
    again = await say(harness, ravi, "aam")

    assert error("supply_commodity_taken", commodity="mango") in again.html
    accepted = await say(harness, ravi, "turmeric")
    assert accepted.text.startswith(render("supply/q_variety").striptags()[:20])
    assert [p.commodity for p in await load_profiles(harness, "PRADAN")] == ["mango"]


async def test_supply_commodity_tags_as_text(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await say(harness, asha, "/supply")
    await tap(harness, asha, label(PROMPTS, "add"))

    two = await say(harness, asha, "<i>onion</i> and mango")
    tagged = await say(harness, asha, "<b>mango</b>")

    assert two.html is not None
    assert (
        error("supply_commodity_several", typed="<i>onion</i> and mango", names=["onion", "mango"])
        in two.html
    )
    assert "&lt;i&gt;onion&lt;/i&gt; and mango" in two.html
    assert tagged.text.startswith(render("supply/q_variety").striptags()[:20])
    summary = await answer_after_commodity(harness, asha)
    assert "mango" in summary.text
    await tap(harness, asha, label("forms", "confirm"))
    assert [p.commodity for p in await load_profiles(harness, "PRADAN")] == ["mango"]


async def answer_after_commodity(harness: SandboxHarness, user: SandboxUser) -> BotMessage:
    """Answer every question after the commodity with short answers; return the summary."""
    for answer in ("/skip", "Maharashtra", "/skip", "Mar-May"):
        await say(harness, user, answer)
    return await say(harness, user, "/skip")


async def test_supply_bad_months_and_volume_keep_answers(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await say(harness, asha, "/supply")
    await tap(harness, asha, label(PROMPTS, "add"))
    for answer in ("onion", "/skip", "Maharashtra", "Nashik"):
        await say(harness, asha, answer)

    bad_months = await say(harness, asha, "mid March to May")
    assert error("months_unknown", typed="mid March to May", unknown="mid") in bad_months.html
    open_range = await say(harness, asha, "March to")
    assert error("months_range_open", typed="March to") in open_range.html
    await say(harness, asha, "Mar-May")
    bad_volume = await say(harness, asha, "12 boxes")
    assert "12 boxes" in bad_volume.text
    assert bad_volume.text != open_range.text
    summary = await say(harness, asha, "1.5 lakh kg")

    assert "Nashik" in summary.text
    assert "Mar–May" in summary.text
    assert "150 tonnes" in summary.text
    await tap(harness, asha, label("forms", "confirm"))
    [profile] = await load_profiles(harness, "PRADAN")
    assert profile.volume_tonnes == 150.0
    assert profile.harvest_months == [3, 4, 5]


async def test_supply_forged_other_bso_profile_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="Vrutti"))
    await add_profile(harness, ravi)
    [theirs] = await load_profiles(harness, "Vrutti")
    listing = await say(harness, asha, "/supply")

    for action in ("edit", "delete", "delete_yes", "delete_keep"):
        data = SupplyAction(action=action, profile_id=theirs.id).pack()
        answer = await press(harness, asha, listing, data)
        assert answer is not None, action
        assert answer["text"] == alert("supply/not_yours"), action

    [still] = await load_profiles(harness, "Vrutti")
    assert still.harvest_months == [3, 4, 5]
    last = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert last.message_id == listing.message_id


async def test_supply_unknown_button_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    listing = await say(harness, asha, "/supply")

    for data in ("sp1:steal:1", "sp1:edit:99999999999999999999"):
        answer: dict[str, Any] | None = await press(harness, asha, listing, data)
        assert answer is not None, data
        assert answer["text"] == alert("common/button_unknown"), data


async def test_supply_refused_outside_pocs(harness: SandboxHarness) -> None:
    stranger = harness.server.user("stranger")
    refused = await say(harness, stranger, "/supply")
    assert render("asks/pocs_only", command="/supply") in refused.html

    asha = await approved_poc(harness, "asha")
    listing = await say(harness, asha, "/supply")
    answer = await press(harness, stranger, listing, SupplyAction(action="add").pack())
    assert answer is not None
    assert answer["text"] == alert("asks/pocs_only", command="/supply")

    group = await cop_group(harness)
    in_group = await say(harness, asha, "/supply", chat=group)
    assert render("supply/private_only") in in_group.html

    all_for_poc = await say(harness, asha, "/supply all")
    assert render("supply/all_facilitators_only") in all_for_poc.html


async def test_supply_facilitator_gets_one_hint(harness: SandboxHarness) -> None:
    chat = harness.server.private_chat(harness.facilitator)
    before = len(harness.server.bot_messages(chat))

    hint = await say(harness, harness.facilitator, "/supply")

    assert len(harness.server.bot_messages(chat)) == before + 1
    assert hint.html == render("supply/all_hint", pending=False)
    assert "/supply all" in hint.text
    assert "/register" not in hint.text


async def test_supply_all_for_facilitator(harness: SandboxHarness) -> None:
    shown = await say(harness, harness.facilitator, "/supply all")

    assert "WOTR" in shown.text
    assert "TechnoServe" in shown.text
    assert "Feb–May" in shown.text
    assert "Apr–Jun" in shown.text
    assert not shown.buttons


async def test_checkin_offers_supply_update(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha")
    await add_profile(harness, asha)

    confirmation = await file_checkin(harness, asha)

    assert "mango (Mar–May)" in confirmation.text
    update = label(PROMPTS, "checkin_update")
    assert button_data(confirmation, update) == SupplyAction(action="list").pack()
    listing = await tap(harness, asha, update)
    assert edit_label(1, "mango") in listing.button_texts()


async def test_checkin_offers_supply_first_profile(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha")

    confirmation = await file_checkin(harness, asha)

    assert render("supply/checkin_offer", profiles=[]) in confirmation.html
    listing = await tap(harness, asha, label(PROMPTS, "checkin_add"))
    assert label(PROMPTS, "add") in listing.button_texts()


# Answers of maximum length: the variety, ten states, fifteen districts of 60 characters,
# four harvest ranges and the largest volume.
LONG_VARIETY = ("Alphonso " * 23)[:200]
LONG_DISTRICTS = tuple(f"{index:02d} " + ("Ratnagiri" * 7)[:57] for index in range(15))
LONG_MONTHS = (3, 4, 6, 7, 9, 10, 12, 1)


def longest_commodities(count: int) -> list[str]:
    commodities = load_commodities()
    names = sorted(
        commodities.names,
        key=lambda name: (-len(commodities.display_name(name, "hi")), name),
    )
    return names[:count]


def longest_states() -> list[str]:
    return sorted(load_states().names, key=lambda name: (-len(name), name))[:10]


async def test_supply_list_fits_at_cap(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    maximum = supply_store.MAX_PROFILES_PER_BSO
    *stored, typed = longest_commodities(maximum)
    states = longest_states()
    bso_id = await bso_id_of(harness, "PRADAN")
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        for commodity in stored:
            values = supply_store.SupplyValues(
                commodity=commodity,
                variety=LONG_VARIETY,
                states=tuple(states),
                districts=LONG_DISTRICTS,
                harvest_months=LONG_MONTHS,
                volume_tonnes=999_999.999,
            )
            await supply_store.add_profile(
                session, community_id=1, bso_id=bso_id, values=values, person_id=None
            )

    answers = (
        typed,
        LONG_VARIETY,
        ", ".join(states),
        ", ".join(LONG_DISTRICTS),
        "Mar-Apr, Jun-Jul, Sep-Oct, Dec-Jan",
        "999999.999 t",
    )
    listing = await add_profile(harness, asha, answers)

    assert harness.errors == []
    assert len(await load_profiles(harness, "PRADAN")) == maximum
    names = sorted([*stored, typed])
    number = names.index(typed) + 1
    assert (
        edit_label(number, load_commodities().display_name(typed, "en")) in listing.button_texts()
    )
    assert label(PROMPTS, "add") not in listing.button_texts()
    # Every profile is shown in full, with its variety clipped.
    assert listing.text.count("📍") == maximum
    assert LONG_VARIETY not in listing.text
    deleted = await tap(harness, asha, label(PROMPTS, "delete", number=1))
    done = await tap(harness, asha, label(PROMPTS, "delete_yes"))
    assert deleted.edited
    assert len(await load_profiles(harness, "PRADAN")) == maximum - 1
    assert label(PROMPTS, "add") in done.button_texts()

    async with harness.app.sessionmaker.begin() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == asha.id))
        assert person is not None
        person.locale = "hi"
    # The deleted profile, added again, brings the Hindi list back to the cap.
    hindi = await add_profile(harness, asha, (names[0], *answers[1:]), locale="hi")
    assert edit_label(1, load_commodities().display_name(names[0], "hi"), "hi") in (
        hindi.button_texts()
    )
    assert len(await load_profiles(harness, "PRADAN")) == maximum
    assert hindi.text.count("📍") == maximum
    assert harness.errors == []


async def test_supply_add_past_cap_rejected(harness: SandboxHarness) -> None:
    bso_id = await bso_id_of(harness, "PRADAN")
    assert harness.app is not None
    names = longest_commodities(supply_store.MAX_PROFILES_PER_BSO + 1)
    async with harness.app.sessionmaker.begin() as session:
        for commodity in names[:-1]:
            values = supply_store.SupplyValues(
                commodity=commodity,
                variety=None,
                states=("Maharashtra",),
                districts=(),
                harvest_months=(3,),
                volume_tonnes=None,
            )
            await supply_store.add_profile(
                session, community_id=1, bso_id=bso_id, values=values, person_id=None
            )
    async with harness.app.sessionmaker() as session:
        extra = supply_store.SupplyValues(
            commodity=names[-1],
            variety=None,
            states=("Maharashtra",),
            districts=(),
            harvest_months=(3,),
            volume_tonnes=None,
        )
        with pytest.raises(supply_store.TooManyProfiles):
            await supply_store.add_profile(
                session, community_id=1, bso_id=bso_id, values=extra, person_id=None
            )

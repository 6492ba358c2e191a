"""The audience questions shared by the broadcast and webinar forms.

The first question picks the parts of the audience (groups, a forum topic, PoCs by
BSO, theme or state); follow-up questions ask only for the parts that were ticked.
Choices come from the database on every update, so a BSO or topic added meanwhile shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup
from sqlalchemy import select

from bot.config import LOCALES
from bot.forms.choices import Choice, MultiChoice, Option
from bot.forms.engine import FormField
from handlers.asks import theme_options
from handlers.forms import FormContext
from storage import audience as audience_store
from storage.audience import Audience, AudienceSpec
from storage.models import Bso
from storage.normalize import load_states

PROMPTS = "audience"
# Parts of an audience, in the order the buttons show them.
PARTS = ("cop_groups", "task_force", "topic", "all_pocs", "bsos", "theme", "state")
# Labels of topic buttons are cut to this many characters, so a row stays readable.
TOPIC_LABEL_MAX = 48
# Joins the group and thread ids in a topic option's key. Not ":", which separates the
# parts of the callback data that carries the key.
TOPIC_KEY_SEPARATOR = "_"


def _ticked(part: str) -> Any:
    def condition(answers: Mapping[str, Any]) -> bool:
        return part in (answers.get("audience") or ())

    return condition


async def _bso_options(context: FormContext) -> tuple[Option, ...]:
    """BSOs with at least one approved PoC, because only those can be reached."""
    pocs = await audience_store.approved_pocs(context.session, context.community.id)
    bso_ids = {person.bso_id for person in pocs}
    if not bso_ids:
        return ()
    bsos = (
        await context.session.scalars(select(Bso).where(Bso.id.in_(bso_ids)).order_by(Bso.name))
    ).all()
    return tuple(
        Option(
            # Not the bare id: the form runner reads the keys ticked on Done as typed
            # text, in which "8" means the eighth option.
            key=f"b{bso.id}",
            labels={"en": bso.name},
            synonyms=(bso.short_name,) if bso.short_name else (),
        )
        for bso in bsos
    )


async def _state_options(context: FormContext) -> tuple[Option, ...]:
    """States that at least one approved PoC works in, named in English and Hindi."""
    states = load_states()
    pocs = await audience_store.approved_pocs(context.session, context.community.id)
    names = sorted({state for person in pocs for state in person.states or ()})
    return tuple(
        Option(key=name, labels={locale: states.display_name(name, locale) for locale in LOCALES})
        for name in names
    )


async def _topic_options(context: FormContext) -> tuple[Option, ...]:
    topics = await audience_store.forum_topics(context.session, context.community.id)
    return tuple(
        Option(
            key=f"{group.telegram_chat_id}{TOPIC_KEY_SEPARATOR}{topic.thread_id}",
            labels={"en": f"{group.title} › {topic.name}"[:TOPIC_LABEL_MAX]},
        )
        for group, topic in topics
    )


async def audience_fields(context: FormContext) -> tuple[FormField, ...]:
    """Build the audience questions: the parts, then topic, BSOs, theme or state as ticked.

    Parts with nothing to choose from (no forum topic known, no PoC with a state) are
    left out of the first question rather than offered and then rejected.
    """
    # Each follow-up question is named after the part it details.
    follow_ups: tuple[tuple[str, type[Choice] | type[MultiChoice], tuple[Option, ...]], ...] = (
        ("topic", Choice, await _topic_options(context)),
        ("bsos", MultiChoice, await _bso_options(context)),
        ("theme", Choice, await theme_options(context)),
        ("state", Choice, await _state_options(context)),
    )
    empty = {part for part, _kind, options in follow_ups if not options}
    parts = tuple(part for part in PARTS if part not in empty)
    fields = [
        FormField(
            name="audience",
            kind=MultiChoice(options=context.options(PROMPTS, parts)),
            question=f"{PROMPTS}/q_audience",
        )
    ]
    for part, kind, options in follow_ups:
        if options:
            fields.append(
                FormField(
                    name=part,
                    kind=kind(options=options),
                    question=f"{PROMPTS}/q_{part}",
                    condition=_ticked(part),
                )
            )
    return tuple(fields)


def spec_from_answers(answers: Mapping[str, Any]) -> AudienceSpec:
    """Build the audience from the answers, as `Field.to_json` stores them."""
    parts = set(answers.get("audience") or ())
    topics: tuple[tuple[int, int], ...] = ()
    topic = answers.get("topic")
    if "topic" in parts and isinstance(topic, str) and TOPIC_KEY_SEPARATOR in topic:
        chat_id, thread_id = topic.rsplit(TOPIC_KEY_SEPARATOR, 1)
        topics = ((int(chat_id), int(thread_id)),)
    bsos = answers.get("bsos") if "bsos" in parts else None
    theme = answers.get("theme") if "theme" in parts else None
    state = answers.get("state") if "state" in parts else None
    return AudienceSpec(
        cop_groups="cop_groups" in parts,
        task_force_groups="task_force" in parts,
        topics=topics,
        all_pocs="all_pocs" in parts,
        bso_ids=tuple(int(str(value).removeprefix("b")) for value in bsos or ()),
        # Theme options are keyed "t<id>".
        theme_ids=(int(str(theme).lstrip("t")),) if theme else (),
        states=(str(state),) if state else (),
    )


async def resolve_answers(context: FormContext, answers: Mapping[str, Any]) -> Audience:
    return await audience_store.resolve(
        context.session, context.community.id, spec_from_answers(answers)
    )


def count_note(context: FormContext, audience: Audience) -> Markup:
    """The summary line with how many chats the message will reach, and who is left out."""
    return context.t(f"{PROMPTS}/count", audience=audience)

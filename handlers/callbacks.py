"""Typed callback data of every inline button. Prefixes carry a version digit so that
buttons on old messages fail to parse, rather than mean something else, after a change."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Row ids fit a 32-bit integer column. A forged larger number fails to parse, so the
# button reaches the fallback handler instead of overflowing a database query.
RowId = Annotated[int, Field(ge=0, le=2**31 - 1)]


class RegistrationStep(CallbackData, prefix="rg1"):
    # consent, bso, bso_new, skip, language, edit, confirm, cancel
    action: str
    value: str = ""


class Decision(CallbackData, prefix="dc1"):
    # approve or reject
    action: str
    person_id: RowId


class GroupKind(CallbackData, prefix="gk1"):
    # cop, bso, task_force, pod; or "bso_pick" with bso_id set
    kind: str
    bso_id: RowId = 0


class Lookup(CallbackData, prefix="lk1"):
    # page (value is the page number) or open (value is the entry id)
    action: str
    query_id: RowId
    value: RowId


class ImportChoice(CallbackData, prefix="im1"):
    # buyers or schemes
    registry: str


class ForgetMe(CallbackData, prefix="fm1"):
    # ask or confirm or keep
    action: str


class CommunityPick(CallbackData, prefix="cm1"):
    community_id: RowId


class ThemeAction(CallbackData, prefix="th1"):
    # change or reset
    action: str


class FormButton(CallbackData, prefix="fo1"):
    # flow is a form flow's short name; action is one of the engine's actions (choose,
    # skip, edit, confirm, cancel, back) or toggle and done for a multiple choice.
    flow: str
    action: str
    value: str = ""
    version: RowId = 0

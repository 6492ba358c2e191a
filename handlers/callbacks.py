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
    # The consent step before the registration form: consent (value yes or no) or locale
    # (value en or hi). The form's own buttons are FormButton.
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
    # change, reset (shows a confirmation), reset_yes or reset_keep
    action: str


class FormButton(CallbackData, prefix="fo1"):
    # flow is a form flow's short name; action is one of the engine's actions (choose,
    # skip, edit, confirm, cancel, back) or toggle and done for a multiple choice.
    flow: str
    action: str
    value: str = ""
    version: RowId = 0


class ActionStatus(CallbackData, prefix="ac1"):
    # done, in_progress, stuck, drop (shows a confirmation), drop_yes, drop_keep. `scope` and
    # `page` name the /actions list the button is on: a BSO's id, or 0 for every BSO.
    op: str
    action_id: RowId
    scope: RowId = 0
    page: RowId = 0


class ActionsPage(CallbackData, prefix="al1"):
    # `scope` is a BSO's id, or 0 for every BSO's open actions (facilitators only).
    scope: RowId = 0
    page: RowId = 0


class MineAction(CallbackData, prefix="mi1"):
    # page (show list page `page`), open, edit, addressed, reopen, withdraw (shows a confirmation),
    # withdraw_yes, withdraw_keep. `page` is the /mine list page the entry was opened from.
    action: str
    entry_id: RowId = 0
    page: RowId = 0


class MatrixView(CallbackData, prefix="mx1"):
    # page, bso (a BSO's row), cell (one BSO under one theme), csv. `theme_id` 0 is the
    # column of replaced themes. `page` is the matrix page, `cell_page` a page of a cell.
    action: str
    bso_id: RowId = 0
    theme_id: RowId = 0
    page: RowId = 0
    cell_page: RowId = 0


class CheckinStart(CallbackData, prefix="ci1"):
    # The month of the progress check-in to open, as yyyymm (202503 for March 2025).
    month: RowId


class CheckinAsk(CallbackData, prefix="ca1"):
    # The progress report whose "support needed" answer becomes an ask.
    report_id: RowId


class ProgressView(CallbackData, prefix="pg1"):
    # month (the month's overview, page `page`), bso (a BSO's history, page `page`),
    # close (asks to confirm), close_yes, reopen. `month` is yyyymm.
    action: str
    month: RowId
    bso_id: RowId = 0
    page: RowId = 0


class ProgressReportPage(CallbackData, prefix="pr1"):
    # Page `page` of one BSO's full progress update for `month` (yyyymm). `back` names the
    # view that the Back button returns to: month (an overview) or bso (the BSO's history).
    # `back_month` (yyyymm) and `back_page` are that view's month and page.
    month: RowId
    bso_id: RowId
    page: RowId = 0
    back: str = "month"
    back_month: RowId = 0
    back_page: RowId = 0


class ScheduleButton(CallbackData, prefix="sd1"):
    # open (a job's screen), change (requests a new rule), pause, resume: `job` names one
    # of storage.schedules.JOB_NAMES. back (the list of schedules) and state (requests
    # the holiday state) leave `job` empty.
    op: str
    job: str = ""


class RecognitionReview(CallbackData, prefix="rc1"):
    # A facilitator's decision on the monthly recognition post: post (at once), edit
    # (the next message becomes its text) or skip.
    action: str
    post_id: RowId


class RecognitionTemplate(CallbackData, prefix="rt1"):
    # A facilitator's change to the community's template of the monthly recognition post:
    # heading or closing (the next message becomes that text), or restore (both back to
    # the wording of post.html).
    action: str


class ConnectPage(CallbackData, prefix="cn1"):
    # page (page `page` of the ask-give suggestions), connect (introduce the BSOs of ask
    # `ask_id` and give `give_id`, pressed on suggestions page `page`), or list (page
    # `page` of the recorded connections).
    op: str
    ask_id: RowId = 0
    give_id: RowId = 0
    page: RowId = 0


class ConnectionStatus(CallbackData, prefix="cs1"):
    # open (the facilitator's view of one connection), or the status to set: talking,
    # done, no_outcome. `view` is the message the button is on: intro (a PoC's
    # introduction) or list (the facilitator's view). `page` is the list page to go back to.
    op: str
    connection_id: RowId
    view: str = "intro"
    page: RowId = 0


class ConsolidateView(CallbackData, prefix="cl1"):
    # page (the overview's page `page`), open (cluster `cluster_id`), merge (the clusters
    # it may merge with, page `pick_page`), merge_yes (merge cluster `other_id` into it),
    # split (its asks, page `pick_page`), split_yes (take ask `other_id` out), address
    # (asks to confirm), address_yes, reopen, csv. `page` is the overview page to go back to.
    action: str
    cluster_id: RowId = 0
    other_id: RowId = 0
    page: RowId = 0
    pick_page: RowId = 0


class SupplyAction(CallbackData, prefix="sp1"):
    # list, add, edit, delete (shows a confirmation), delete_yes or delete_keep.
    # `profile_id` names the BSO's supply profile; list and add leave it 0.
    action: str
    profile_id: RowId = 0


class RequirementButton(CallbackData, prefix="rq1"):
    # offer (opens the offer form), details, close (opens the closing form) or mine (the
    # poster's list with offers).
    action: str
    requirement_id: RowId
    # The page of offers that details shows, from 0.
    page: int = 0


class RequirementsPage(CallbackData, prefix="rl1"):
    # Page `page` of /requirements filtered by the words of saved query `query_id` (0 for
    # no filter), or of /requirements mine when `mine` is set.
    query_id: RowId = 0
    page: RowId = 0
    mine: bool = False


class OfferDecision(CallbackData, prefix="of2"):
    # accept or decline, pressed by the requirement's poster or a facilitator, on revision
    # `revision` of the offer; a press on an older revision's message is refused.
    action: str
    offer_id: RowId
    revision: int


class ProposalDecision(CallbackData, prefix="bp1"):
    # A facilitator's decision on a buyer proposed with a requirement: add or dismiss.
    action: str
    proposal_id: RowId

"""A pure form state machine: asks a form's fields in order, then a summary to confirm.

The engine knows nothing of Telegram, the database or templates. Every input method
takes a `FormState` and returns a `Step`: the new state and the outputs to render,
whose question and message keys the caller turns into text. Invalid or unexpected
user input becomes an output, never an exception.

The engine cannot see two updates that read the same stored state, such as a button
pressed twice in quick succession. The caller must therefore save a new state only
when the stored `version` still equals the version it read (compare and set).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from .base import Field, FieldError
from .choices import Choice, MultiChoice, Option
from .fields import FileAnswer, FileInfo, YesNo
from .messages import MessageAnswer, MessageRef

# Earlier answers as parsed values by field name. A field the person skipped maps to None.
Answers = Mapping[str, Any]
Condition = Callable[[Answers], bool]

DEFAULT_TTL = dt.timedelta(hours=48)

# Button actions that `FormEngine.press` accepts. "choose" takes an option key (or "yes"
# and "no" for a yes/no field) as its value, and "edit" a field name.
ACTIONS = ("choose", "skip", "edit", "confirm", "cancel", "back")

Status = Literal["active", "confirmed"]


# --- Declarations -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FormField:
    """One question of a form.

    `condition` receives the answers to the applicable fields before this one and
    decides whether this field is asked at all. It should read them with `.get`,
    because an earlier optional field may be missing or None. `question` is the
    template key of the question. `choices_from` names a list of options that the
    caller loads at run time, such as the communities a person belongs to.
    `in_summary` receives all applicable answers and decides whether the summary lists
    this field's answer; the field keeps its edit button either way.
    """

    name: str
    kind: Field[Any]
    question: str
    optional: bool = False
    condition: Condition | None = None
    choices_from: str | None = None
    in_summary: Condition | None = None


@dataclass(frozen=True, kw_only=True)
class Form:
    """A form declared as data: its fields in asking order and the summary template key.

    A form whose state was last touched more than `ttl` ago has expired.
    """

    name: str
    fields: tuple[FormField, ...]
    summary: str
    ttl: dt.timedelta = DEFAULT_TTL

    def __post_init__(self) -> None:
        names = [form_field.name for form_field in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"field names in form {self.name!r} must be unique: {names}")
        if self.ttl <= dt.timedelta(0):
            raise ValueError(f"ttl of form {self.name!r} must be positive, not {self.ttl}")


# --- State ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FormState:
    """The progress of one person through one form, stored as JSON between messages.

    `answers` maps field names to `Field.to_json` values, with None for a skipped
    optional field. `current` is the field being asked, or None at the summary.
    `history` lists the fields asked so far in asking order. `version` grows by one
    on every accepted step, and buttons carry the version they were shown with.
    `started_at` and `touched_at` are ISO 8601 times with a UTC offset.
    """

    form: str
    answers: Mapping[str, Any]
    current: str | None
    editing: bool
    history: tuple[str, ...]
    started_at: str
    touched_at: str
    version: int
    status: Status = "active"

    def to_json(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "answers": dict(self.answers),
            "current": self.current,
            "editing": self.editing,
            "history": list(self.history),
            "started_at": self.started_at,
            "touched_at": self.touched_at,
            "version": self.version,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, data: Any) -> FormState:
        """Rebuild a state from `to_json` output; raise TypeError or ValueError on bad data."""
        if not isinstance(data, dict):
            raise TypeError(f"stored form state must be a dict, not {data!r}")

        _require(data, "form", str)
        _require(data, "answers", dict)
        _require(data, "editing", bool)
        _require(data, "history", list)
        _require(data, "started_at", str)
        _require(data, "touched_at", str)
        _require(data, "version", int)

        current = data.get("current")
        if current is not None and not isinstance(current, str):
            raise TypeError(f"stored form state current must be a string or None, not {current!r}")
        if not all(isinstance(name, str) for name in data["history"]):
            raise TypeError(f"stored form state history must list strings: {data['history']!r}")
        status = data.get("status", "active")
        if status not in ("active", "confirmed"):
            raise ValueError(f"stored form state status must be active or confirmed: {status!r}")
        for key in ("started_at", "touched_at"):
            parse_time(data[key])

        return cls(
            form=data["form"],
            answers=dict(data["answers"]),
            current=current,
            editing=data["editing"],
            history=tuple(data["history"]),
            started_at=data["started_at"],
            touched_at=data["touched_at"],
            version=data["version"],
            status=status,
        )


def _require(data: dict[str, Any], key: str, expected: type) -> None:
    value = data.get(key)
    if isinstance(value, bool) and expected is not bool:
        raise TypeError(f"stored form state {key} must be {expected.__name__}, not {value!r}")
    if not isinstance(value, expected):
        raise TypeError(f"stored form state {key} must be {expected.__name__}, not {value!r}")


def parse_time(text: str) -> dt.datetime:
    """Parse an ISO 8601 time; raise ValueError when it is invalid or has no UTC offset."""
    value = dt.datetime.fromisoformat(text)
    _check_aware(value)
    return value


def _check_aware(value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"time {value.isoformat()} must have a UTC offset")


# --- Outputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """Ask `field`, after the reason the last answer was invalid when `reason` is set.

    `choices` are the options to offer as buttons. `current_answer` is the displayed
    answer already given, when the person went back or is editing. Buttons carry `version`.
    """

    field: str
    question_key: str
    reason: FieldError | None = None
    choices: tuple[Option, ...] = ()
    choices_from: str | None = None
    optional: bool = False
    editing: bool = False
    current_answer: str | None = None
    version: int = 0


@dataclass(frozen=True)
class SummaryItem:
    """One answered field in a summary; `answer` is None for a skipped optional field."""

    field: str
    question_key: str
    answer: str | None


@dataclass(frozen=True)
class Summary:
    """All answers, displayed, with the fields that may be edited and the buttons' version."""

    summary_key: str
    items: tuple[SummaryItem, ...]
    edit_targets: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class Confirmed:
    """The confirmed answers of every applicable field, to save in one transaction.

    `answers` contains parsed values and `answers_json` the `Field.to_json` values. A
    skipped optional field maps to None in both.
    """

    form: str
    answers: Mapping[str, Any]
    answers_json: Mapping[str, Any]


@dataclass(frozen=True)
class Cancelled:
    """The person cancelled the form; the caller deletes the state."""


@dataclass(frozen=True)
class Expired:
    """The form was untouched for longer than its ttl; the caller deletes the state."""


@dataclass(frozen=True)
class Stale:
    """An input that no longer applies, such as an old button; `reason` is a code for logs.

    Codes: "version" (shown with an older or forged version), "ended" (any input after the
    form was confirmed), "not_asking" (an answer button at the summary),
    "not_at_summary" (confirm or edit while a question is open) and "invalid_value"
    (an unknown action, option or field).
    """

    reason: str


@dataclass(frozen=True)
class NotOptional:
    """The person tried to skip `field`, which is required."""

    field: str


@dataclass(frozen=True)
class NotExpected:
    """Input of `kind` ("sticker", "photo", "edited", "text" at the summary, …) arrived."""

    kind: str


@dataclass(frozen=True)
class UnexpectedCommand:
    """A command other than /back, /skip and /cancel arrived: answer the question or /cancel."""

    name: str


@dataclass(frozen=True)
class NoPrevious:
    """The person sent /back on the first question."""


Output = (
    Ask
    | Summary
    | Confirmed
    | Cancelled
    | Expired
    | Stale
    | NotOptional
    | NotExpected
    | UnexpectedCommand
    | NoPrevious
)


class Step(NamedTuple):
    """The result of one input: the new state, None when the caller deletes it, and outputs."""

    state: FormState | None
    outputs: tuple[Output, ...]


# --- Engine -----------------------------------------------------------------------------


class FormEngine:
    """Drives one form: each method takes a state and one input and returns a `Step`.

    Every method raises ValueError when `state` belongs to another form or `now` has
    no UTC offset, because both are the caller's mistakes. No user input raises.
    """

    def __init__(self, form: Form) -> None:
        self.form = form
        self._fields = {form_field.name: form_field for form_field in form.fields}

    # Inputs

    def start(
        self, *, now: dt.datetime, locale: str, answers: Mapping[str, Any] | None = None
    ) -> Step:
        """Start the form and ask its first applicable field.

        `answers` prefills the form with `Field.to_json` values, as when a saved record
        is edited: invalid or inapplicable ones are dropped, and when every applicable
        field has an answer the first output is the summary.
        """
        _check_aware(now)
        stamp = now.isoformat()
        prefilled = dict(answers or {})
        state = FormState(
            form=self.form.name,
            answers=prefilled,
            current=None,
            editing=False,
            history=tuple(name for name in self._fields if name in prefilled),
            started_at=stamp,
            touched_at=stamp,
            version=0,
        )
        return self._advance(state, locale)

    def answer_text(
        self, state: FormState, text: str, *, now: dt.datetime, today: dt.date, locale: str
    ) -> Step:
        """Parse `text` as the answer to the current field, or re-ask with the FieldError."""
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened
        if opened.current is None:
            return Step(opened, (NotExpected("text"), self._summary(opened, locale)))

        form_field = self._fields[opened.current]
        try:
            value = form_field.kind.parse(text, today=today, locale=locale)
        except FieldError as error:
            return Step(opened, (self._ask(opened, form_field, locale, reason=error),))
        return self._store(opened, form_field, form_field.kind.to_json(value), locale)

    def answer_picked(
        self, state: FormState, picked: list[str], *, now: dt.datetime, locale: str
    ) -> Step:
        """Take the option keys ticked on a multiple choice's buttons as its answer."""
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened
        if opened.current is None:
            return Step(opened, (NotExpected("text"), self._summary(opened, locale)))

        form_field = self._fields[opened.current]
        if not isinstance(form_field.kind, MultiChoice):
            return Step(opened, (NotExpected("text"), self._prompt(opened, locale)))
        try:
            value = form_field.kind.from_keys(picked, locale)
        except FieldError as error:
            return Step(opened, (self._ask(opened, form_field, locale, reason=error),))
        return self._store(opened, form_field, form_field.kind.to_json(value), locale)

    def answer_file(
        self, state: FormState, info: FileInfo, *, now: dt.datetime, today: dt.date, locale: str
    ) -> Step:
        """Take a file as the answer to a file field; other fields get `NotExpected`."""
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened
        if opened.current is None:
            return Step(opened, (NotExpected(info.kind), self._summary(opened, locale)))

        form_field = self._fields[opened.current]
        if not isinstance(form_field.kind, FileAnswer):
            return Step(opened, (NotExpected(info.kind), self._ask(opened, form_field, locale)))
        try:
            value = form_field.kind.parse_file(info)
        except FieldError as error:
            return Step(opened, (self._ask(opened, form_field, locale, reason=error),))
        return self._store(opened, form_field, form_field.kind.to_json(value), locale)

    def answer_message(
        self, state: FormState, ref: MessageRef, *, now: dt.datetime, locale: str
    ) -> Step:
        """Take a whole message as the answer to a message field; other fields get `NotExpected`.

        The caller sends every message to a MessageAnswer question here, typed text
        included, and never to `answer_text`.
        """
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened
        if opened.current is None:
            return Step(opened, (NotExpected(ref.kind), self._summary(opened, locale)))

        form_field = self._fields[opened.current]
        if not isinstance(form_field.kind, MessageAnswer):
            return Step(opened, (NotExpected(ref.kind), self._ask(opened, form_field, locale)))
        try:
            value = form_field.kind.parse_message(ref)
        except FieldError as error:
            return Step(opened, (self._ask(opened, form_field, locale, reason=error),))
        return self._store(opened, form_field, form_field.kind.to_json(value), locale)

    def other_input(
        self, state: FormState, kind: str, *, now: dt.datetime, today: dt.date, locale: str
    ) -> Step:
        """Reply to a sticker, voice note, edited or forwarded message, and repeat the prompt."""
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened
        return Step(opened, (NotExpected(kind), self._prompt(opened, locale)))

    def prompt(self, state: FormState, *, now: dt.datetime, locale: str) -> Step:
        """Repeat the current question, or the summary, without taking an answer.

        Like every input it checks expiry and touches the state. A caller uses it for
        input the engine does not model, such as ticking one option of a multiple choice.
        """
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened
        return Step(opened, (self._prompt(opened, locale),))

    def command(
        self, state: FormState, name: str, *, now: dt.datetime, today: dt.date, locale: str
    ) -> Step:
        """Run /back, /skip or /cancel; any other command repeats the prompt.

        `name` may carry the slash and a bot mention, as in "/Back@cop_bot".
        """
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened

        command = name.strip().lstrip("/").split("@", 1)[0].lower()
        if command == "cancel":
            return Step(None, (Cancelled(),))
        if command == "back":
            return self._back(opened, locale)
        if command == "skip" and opened.current is not None:
            return self._skip(opened, locale)
        return Step(opened, (UnexpectedCommand(command), self._prompt(opened, locale)))

    def press(
        self,
        state: FormState,
        action: str,
        value: str,
        shown_version: int,
        *,
        now: dt.datetime,
        today: dt.date,
        locale: str,
    ) -> Step:
        """Run a button press; a button shown with another version than the state's is `Stale`.

        `action` is one of `ACTIONS`. `value` is the option key for "choose", the
        field name for "edit" and ignored otherwise.
        """
        opened = self._open(state, now)
        if isinstance(opened, Step):
            return opened
        if shown_version != opened.version:
            return Step(opened, (Stale("version"),))

        if action == "cancel":
            return Step(None, (Cancelled(),))
        if action == "back":
            return self._back(opened, locale)
        if action == "confirm":
            return self._confirm(opened, locale)
        if action == "edit":
            return self._edit(opened, value, locale)
        if opened.current is None:
            return Step(opened, (Stale("not_asking"),))
        if action == "skip":
            return self._skip(opened, locale)
        if action == "choose":
            return self._choose(opened, value, locale)
        return Step(opened, (Stale("invalid_value"),))

    # Steps

    def _open(self, state: FormState, now: dt.datetime) -> FormState | Step:
        """Check expiry and status, touch the state and drop answers that no longer apply."""
        if state.form != self.form.name:
            raise ValueError(
                f"engine of form {self.form.name!r} got a state of form {state.form!r}; "
                "use the engine named by state.form"
            )
        _check_aware(now)
        if now - parse_time(state.touched_at) > self.form.ttl:
            return Step(None, (Expired(),))
        touched = replace(state, touched_at=now.isoformat())
        if state.status != "active":
            return Step(touched, (Stale("ended"),))
        return self._normalised(touched)

    def _normalised(self, state: FormState) -> FormState:
        """Keep only valid answers of applicable fields, and point `current` at a field to ask.

        A stored state may predate an edit that made a condition false, or a change
        of the form's declaration, so this runs on every input.
        """
        values = self._decoded(state.answers)
        applicable = self._applicable(values)
        names = {form_field.name for form_field in applicable}
        answers = {name: state.answers[name] for name in values if name in names}
        history = tuple(name for name in state.history if name in names)

        current = state.current
        editing = state.editing
        if current is not None and current not in names:
            current = None
            editing = False
        if current is None:
            current = self._next_name(applicable, answers)
            editing = False
        return replace(state, answers=answers, history=history, current=current, editing=editing)

    def _store(self, state: FormState, form_field: FormField, data: Any, locale: str) -> Step:
        """Accept `data` (JSON, or None for a skip) for `form_field` and move on."""
        answers = {**state.answers, form_field.name: data}
        history = tuple(name for name in state.history if name != form_field.name)
        stored = replace(
            state,
            answers=answers,
            history=(*history, form_field.name),
            current=None,
            editing=False,
            version=state.version + 1,
        )
        return self._advance(stored, locale)

    def _advance(self, state: FormState, locale: str) -> Step:
        """Ask the first applicable unanswered field, or show the summary when none is left."""
        moved = self._normalised(replace(state, current=None, editing=False))
        return Step(moved, (self._prompt(moved, locale),))

    def _skip(self, state: FormState, locale: str) -> Step:
        assert state.current is not None
        form_field = self._fields[state.current]
        if not form_field.optional:
            return Step(state, (NotOptional(form_field.name), self._ask(state, form_field, locale)))
        return self._store(state, form_field, None, locale)

    def _back(self, state: FormState, locale: str) -> Step:
        """Go back to the previous asked field, keeping its answer; from an edit, to the summary.

        The previous field is the last one before the current field, in form order,
        that was asked. Fields passed over because of their condition are never asked.
        """
        if state.editing:
            return self._advance(replace(state, version=state.version + 1), locale)

        order = [form_field.name for form_field in self.form.fields]
        end = len(order) if state.current is None else order.index(state.current)
        asked = set(state.history)
        earlier = [name for name in order[:end] if name in asked]
        if not earlier:
            return Step(state, (NoPrevious(), self._prompt(state, locale)))

        target = self._fields[earlier[-1]]
        moved = replace(state, current=target.name, editing=False, version=state.version + 1)
        return Step(moved, (self._ask(moved, target, locale),))

    def _choose(self, state: FormState, key: str, locale: str) -> Step:
        assert state.current is not None
        form_field = self._fields[state.current]
        kind = form_field.kind
        if isinstance(kind, Choice) and key in {option.key for option in kind.options}:
            return self._store(state, form_field, key, locale)
        if isinstance(kind, YesNo) and key in ("yes", "no"):
            return self._store(state, form_field, key == "yes", locale)
        return Step(state, (Stale("invalid_value"),))

    def _edit(self, state: FormState, name: str, locale: str) -> Step:
        if state.current is not None:
            return Step(state, (Stale("not_at_summary"),))
        if name not in state.answers:
            return Step(state, (Stale("invalid_value"),))
        target = self._fields[name]
        moved = replace(state, current=name, editing=True, version=state.version + 1)
        return Step(moved, (self._ask(moved, target, locale),))

    def _confirm(self, state: FormState, locale: str) -> Step:
        if state.current is not None:
            return Step(state, (Stale("not_at_summary"),))

        values = self._decoded(state.answers)
        answers: dict[str, Any] = {}
        answers_json: dict[str, Any] = {}
        for form_field in self._applicable(values):
            # `_normalised` leaves `current` None only when every applicable field is
            # answered, so this lookup cannot miss.
            answers[form_field.name] = values[form_field.name]
            answers_json[form_field.name] = state.answers[form_field.name]

        confirmed = replace(state, status="confirmed", version=state.version + 1)
        return Step(
            confirmed,
            (
                Confirmed(
                    self.form.name,
                    MappingProxyType(answers),
                    MappingProxyType(answers_json),
                ),
            ),
        )

    # Helpers

    def _decoded(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Return the stored answers as parsed values, without unknown fields or bad data."""
        values: dict[str, Any] = {}
        for name, data in answers.items():
            form_field = self._fields.get(name)
            if form_field is None:
                continue
            if data is None:
                if form_field.optional:
                    values[name] = None
                continue
            try:
                values[name] = form_field.kind.from_json(data)
            except (TypeError, ValueError):
                continue
        return values

    def _applicable(self, values: Mapping[str, Any]) -> list[FormField]:
        """Return the fields whose condition holds on the answers to the applicable fields before them."""
        applicable: list[FormField] = []
        earlier: dict[str, Any] = {}
        for form_field in self.form.fields:
            condition = form_field.condition
            if condition is not None and not condition(MappingProxyType(dict(earlier))):
                continue
            applicable.append(form_field)
            if form_field.name in values:
                earlier[form_field.name] = values[form_field.name]
        return applicable

    @staticmethod
    def _next_name(applicable: list[FormField], answers: Mapping[str, Any]) -> str | None:
        for form_field in applicable:
            if form_field.name not in answers:
                return form_field.name
        return None

    def _prompt(self, state: FormState, locale: str) -> Ask | Summary:
        """Return the current question, or the summary when no question is open."""
        if state.current is None:
            return self._summary(state, locale)
        return self._ask(state, self._fields[state.current], locale)

    def _ask(
        self,
        state: FormState,
        form_field: FormField,
        locale: str,
        *,
        reason: FieldError | None = None,
    ) -> Ask:
        kind = form_field.kind
        choices = kind.options if isinstance(kind, Choice | MultiChoice) else ()
        return Ask(
            field=form_field.name,
            question_key=form_field.question,
            reason=reason,
            choices=choices,
            choices_from=form_field.choices_from,
            optional=form_field.optional,
            editing=state.editing,
            current_answer=self._display(form_field, state.answers, locale),
            version=state.version,
        )

    def _summary(self, state: FormState, locale: str) -> Summary:
        values = self._decoded(state.answers)
        applicable = self._applicable(values)
        items = tuple(
            SummaryItem(
                field=form_field.name,
                question_key=form_field.question,
                answer=self._display(form_field, state.answers, locale),
            )
            for form_field in applicable
            if form_field.in_summary is None or form_field.in_summary(values)
        )
        return Summary(
            summary_key=self.form.summary,
            items=items,
            edit_targets=tuple(form_field.name for form_field in applicable),
            version=state.version,
        )

    @staticmethod
    def _display(form_field: FormField, answers: Mapping[str, Any], locale: str) -> str | None:
        data = answers.get(form_field.name)
        if data is None:
            return None
        return form_field.kind.display(form_field.kind.from_json(data), locale)


__all__ = [
    "ACTIONS",
    "DEFAULT_TTL",
    "Answers",
    "Ask",
    "Cancelled",
    "Condition",
    "Confirmed",
    "Expired",
    "Form",
    "FormEngine",
    "FormField",
    "FormState",
    "NoPrevious",
    "NotExpected",
    "NotOptional",
    "Output",
    "Stale",
    "Step",
    "Summary",
    "SummaryItem",
    "UnexpectedCommand",
]

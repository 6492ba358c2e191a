"""A local HTTP server that speaks the Telegram Bot API, for testing a real aiogram Bot.

Point the bot at it with
``AiohttpSession(api=TelegramAPIServer.from_base(server.url))``. Tests and scripts drive
simulated users through the in-process methods of SandboxServer (see actions.py) and
wait for the bot with ``wait_idle``.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web

from bot.sandbox.actions import UserActions
from bot.sandbox.faults import Faults, Limits
from bot.sandbox.methods import BotApiMethods, Params
from bot.sandbox.models import (
    ApiError,
    BotMessage,
    RecordedRequest,
    SandboxChat,
    SandboxError,
    SandboxUser,
    StoredFile,
)

logger = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"(\d+):[A-Za-z0-9_-]+")
# Telegram accepts uploads of up to 50 MB from bots.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Update types Telegram leaves out when allowed_updates is empty or was never set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
IDLE_QUIET_SECONDS = 0.02

BotMessageHook = Callable[[BotMessage, str], None]


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class SandboxServer(UserActions, BotApiMethods):
    """A Telegram Bot API server on loopback with a simulated world of users and chats.

    One server serves one bot: the first token in a request fixes the bot id, and later
    requests with another bot id get 401 Unauthorized.
    """

    def __init__(
        self,
        *,
        bot_username: str = "cop_assistant_bot",
        bot_first_name: str = "CoP Assistant",
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.bot_username = bot_username
        self._clock = clock or _utc_now
        # Update and message payloads reference this one dict, so the bot id learnt from
        # the first token also shows in updates that were queued before it.
        self._bot_user: dict[str, Any] = {
            "id": 0,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._bot_id: int | None = None

        self.faults = Faults()
        self.limits = Limits()
        # Telegram's privacy mode: in groups the bot receives only commands, replies to
        # it, mentions of it and service messages, unless it is an administrator.
        self.privacy_mode = True
        self.requests: list[RecordedRequest] = []
        self.transcript_events: list[tuple[str, BotMessage]] = []
        self.on_bot_message: BotMessageHook | None = None
        self.callback_answers: list[dict[str, Any]] = []
        self.inline_answers: list[dict[str, Any]] = []
        self.chat_actions: list[tuple[int, str]] = []
        # Awaited by wait_idle once the server is quiet, for work the bot does on its own
        # schedule (its outbox); each takes a timeout in seconds.
        self.idle_hooks: list[Callable[[float], Awaitable[None]]] = []

        self._users: dict[str, SandboxUser] = {}
        self._users_by_id: dict[int, SandboxUser] = {}
        self._next_user_id = 100001
        self._chats: dict[int, SandboxChat] = {}
        self._groups_by_title: dict[str, SandboxChat] = {}
        self._next_basic_group = 1
        self._next_supergroup = 1
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._bot_messages: list[BotMessage] = []
        self._bot_message_index: dict[tuple[int, int], BotMessage] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._next_file_number = 1
        self._callback_queries: dict[str, bool] = {}  # query id -> whether it was answered
        self._next_callback_id = 1
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._default_menu_button: dict[str, Any] = {"type": "commands"}
        self._webhook_url = ""

        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._updates_event = asyncio.Event()
        self._poll_generation = 0
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        # Long polls are woken on stop(), so a short shutdown timeout is enough.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = cast(asyncio.Server, site._server)
        assert server is not None and server.sockets
        self._host = host
        self._port = server.sockets[0].getsockname()[1]
        self._closing = False
        logger.info("Sandbox Bot API server listening on %s", self.url)

    async def stop(self) -> None:
        self._closing = True
        self._updates_event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            logger.info("Sandbox Bot API server stopped")

    @property
    def url(self) -> str:
        if self._port is None:
            raise SandboxError("The sandbox server is not started; call await server.start()")
        return f"http://{self._host}:{self._port}"

    @property
    def bot_id(self) -> int:
        return int(self._bot_user["id"])

    def now(self) -> datetime.datetime:
        return self._clock()

    def now_timestamp(self) -> int:
        return int(self._clock().timestamp())

    # -- HTTP ------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"].lower()
        token_match = TOKEN_RE.fullmatch(token)
        if token_match is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        values, files = await self._read_params(request)
        record = RecordedRequest(
            method=request.match_info["method"],
            params=_summarise(values, files),
            at=time.monotonic(),
            status=0,
        )
        self.requests.append(record)
        is_poll = method == "getupdates"
        if not is_poll:
            self._in_flight += 1
        self._last_activity = time.monotonic()
        try:
            self._check_token(int(token_match.group(1)))
            self.faults.check(method)
            result = await self.call_method(method, Params(values, files))
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.error_code, error.to_json()
            record.description = error.description
        finally:
            if not is_poll:
                self._in_flight -= 1
            self._last_activity = time.monotonic()
        record.status = status
        return web.json_response(body, status=status, dumps=_dumps)

    def _check_token(self, bot_id: int) -> None:
        if self._bot_id is None:
            self._bot_id = bot_id
            self._bot_user["id"] = bot_id
        elif bot_id != self._bot_id:
            raise ApiError(401, "Unauthorized")

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, tuple[str, bytes, str]] = {}
        if request.method != "POST" or not request.can_read_body:
            return values, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                body = None
            if isinstance(body, dict):
                values.update(body)
            return values, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read(), value.content_type)
            elif isinstance(value, bytes | bytearray):
                values[key] = bytes(value).decode("utf-8", errors="replace")
            else:
                values[key] = value
        return values, files

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None or TOKEN_RE.fullmatch(request.match_info["token"]) is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    # -- update queue ----------------------------------------------------------------

    def enqueue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of the given type (e.g. "message") for getUpdates."""
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._updates_event.set()
        return update

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            # A negative offset keeps only the last -offset updates and drops the rest.
            self._updates = self._updates[offset:]

    def _drop_disallowed_updates(self) -> None:
        allowed = set(self._allowed_updates)

        def is_allowed(update: dict[str, Any]) -> bool:
            kind = next(key for key in update if key != "update_id")
            if allowed:
                return kind in allowed
            return kind not in DEFAULT_EXCLUDED_UPDATES

        self._updates = [update for update in self._updates if is_allowed(update)]

    async def get_updates(
        self, offset: int, limit: int, timeout: float, allowed_updates: list[str] | None
    ) -> list[dict[str, Any]]:
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if allowed_updates is not None:
            self._allowed_updates = list(allowed_updates)
        self._confirm_updates(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        # Wake an older long poll so that it ends with 409 Conflict, as on Telegram.
        self._updates_event.set()
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            self._drop_disallowed_updates()
            if self._updates or self._closing:
                return self._updates[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self._updates_event.clear()
            try:
                await asyncio.wait_for(self._updates_event.wait(), remaining)
            except TimeoutError:
                return []

    @property
    def pending_updates(self) -> int:
        """Count of queued updates the bot has not confirmed yet."""
        return len(self._updates)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has confirmed every queued update and stopped calling the API.

        Idle means: no unconfirmed update, no API request in flight except the bot's
        own long poll, no request started or finished for 20 ms, and every idle hook
        (the bot's outbox) done without calling the API again. Raises SandboxError on
        timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            quiet = now - self._last_activity >= IDLE_QUIET_SECONDS
            if not self._updates and self._in_flight == 0 and quiet:
                if not self.idle_hooks:
                    return
                activity = self._last_activity
                for hook in self.idle_hooks:
                    await hook(max(0.1, deadline - time.monotonic()))
                if self._last_activity == activity and not self._updates:
                    return
                continue
            if now >= deadline:
                raise SandboxError(
                    f"Sandbox not idle after {timeout} s: {len(self._updates)} update(s) not "
                    f"confirmed by the bot and {self._in_flight} request(s) in flight. "
                    "Check that the bot is polling this server."
                )
            await asyncio.sleep(0.005)

    # -- bot message records ---------------------------------------------------------

    def bot_messages(
        self,
        chat: SandboxChat | int | None = None,
        *,
        thread_id: int | None = None,
        include_deleted: bool = False,
    ) -> list[BotMessage]:
        """Return the bot's messages in sending order, optionally in one chat and thread."""
        chat_id = chat.id if isinstance(chat, SandboxChat) else chat
        found = []
        for message in self._bot_messages:
            if chat_id is not None and message.chat_id != chat_id:
                continue
            if thread_id is not None and message.thread_id != thread_id:
                continue
            if message.deleted and not include_deleted:
                continue
            found.append(message)
        return found

    def last_bot_message(
        self,
        chat: SandboxChat | int,
        *,
        thread_id: int | None = None,
        with_buttons: bool = False,
    ) -> BotMessage:
        """Return the bot's latest message in chat, or raise SandboxError if none."""
        for message in reversed(self.bot_messages(chat, thread_id=thread_id)):
            if with_buttons and not message.buttons:
                continue
            return message
        chat_id = chat.id if isinstance(chat, SandboxChat) else chat
        qualifier = " with buttons" if with_buttons else ""
        raise SandboxError(f"The bot has sent no message{qualifier} to chat {chat_id}")

    def _emit_bot_message_event(self, message: BotMessage, event: str) -> None:
        self.transcript_events.append((event, message))
        if self.on_bot_message is not None:
            self.on_bot_message(message, event)

    def requests_for(self, method: str) -> list[RecordedRequest]:
        """Return recorded requests of one API method, compared case-insensitively."""
        return [r for r in self.requests if r.method.lower() == method.lower()]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _summarise(values: dict[str, Any], files: dict[str, tuple[str, bytes, str]]) -> dict[str, Any]:
    summary = dict(values)
    for key, (file_name, content, _content_type) in files.items():
        summary[key] = {"file_name": file_name, "size": len(content)}
    return summary

"""Bot API methods of the sandbox, with Telegram's validation rules and error replies."""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.sandbox.models import (
    ApiError,
    BotMessage,
    Button,
    SandboxChat,
    StoredFile,
    bad_request,
    forbidden,
)
from bot.sandbox.telegram_html import ParsedText, parse_html, strip_surrounding_whitespace
from bot.sandbox.text import utf16_len

if TYPE_CHECKING:
    from bot.sandbox.server import SandboxServer

# Limits from the Bot API documentation, counted in UTF-16 code units after parsing.
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses larger files for cloud bots
BUTTON_ACTION_FIELDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class Params:
    """Request parameters from a query string, JSON body or form, with typed access.

    Form and query values arrive as strings, and aiogram sends nested objects as JSON
    strings in multipart forms, so every accessor also accepts the string form.
    """

    def __init__(self, values: dict[str, Any], files: dict[str, tuple[str, bytes, str]]) -> None:
        self.values = values
        self.files = files

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise bad_request(f"can't parse {name} JSON object") from None


ApiHandler = Callable[[Params], Awaitable[Any] | Any]


class BotApiMethods:
    """Mixin of SandboxServer that implements the Bot API methods."""

    def _method_table(self: SandboxServer) -> dict[str, ApiHandler]:
        return {
            "getme": self.api_get_me,
            "getupdates": self.api_get_updates,
            "setwebhook": self.api_set_webhook,
            "deletewebhook": self.api_delete_webhook,
            "getwebhookinfo": self.api_get_webhook_info,
            "logout": lambda params: True,
            "close": lambda params: True,
            "sendmessage": self.api_send_message,
            "editmessagetext": self.api_edit_message_text,
            "editmessagecaption": self.api_edit_message_caption,
            "editmessagereplymarkup": self.api_edit_message_reply_markup,
            "deletemessage": self.api_delete_message,
            "answercallbackquery": self.api_answer_callback_query,
            "senddocument": self.api_send_document,
            "sendphoto": self.api_send_photo,
            "copymessage": self.api_copy_message,
            "forwardmessage": self.api_forward_message,
            "getfile": self.api_get_file,
            "setmycommands": self.api_set_my_commands,
            "getmycommands": self.api_get_my_commands,
            "deletemycommands": self.api_delete_my_commands,
            "getchat": self.api_get_chat,
            "getchatmember": self.api_get_chat_member,
            "getchatadministrators": self.api_get_chat_administrators,
            "sendchataction": self.api_send_chat_action,
            "leavechat": self.api_leave_chat,
            "answerinlinequery": self.api_answer_inline_query,
            "setchatmenubutton": self.api_set_chat_menu_button,
            "getchatmenubutton": self.api_get_chat_menu_button,
            "createforumtopic": self.api_create_forum_topic,
        }

    async def call_method(self: SandboxServer, method: str, params: Params) -> Any:
        """Run one API method by its lowercased name and return its result."""
        handler = self._method_table().get(method)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        result = handler(params)
        if isinstance(result, Awaitable):
            result = await result
        return result

    # -- getting updates and bot info ------------------------------------------------

    def api_get_me(self: SandboxServer, params: Params) -> dict[str, Any]:
        return {
            **self._bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def api_get_updates(self: SandboxServer, params: Params) -> list[dict[str, Any]]:
        limit = params.integer("limit") or 100
        allowed = params.json("allowed_updates")
        return await self.get_updates(
            offset=params.integer("offset") or 0,
            limit=min(max(limit, 1), 100),
            timeout=max(params.integer("timeout") or 0, 0),
            allowed_updates=allowed if isinstance(allowed, list) else None,
        )

    def api_set_webhook(self: SandboxServer, params: Params) -> bool:
        url = params.text("url") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    def api_delete_webhook(self: SandboxServer, params: Params) -> bool:
        self._webhook_url = ""
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    def api_get_webhook_info(self: SandboxServer, params: Params) -> dict[str, Any]:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # -- chat lookup and checks shared by sending methods ----------------------------

    def _resolve_chat(self: SandboxServer, params: Params, name: str = "chat_id") -> SandboxChat:
        raw = params.values.get(name)
        if raw is None or raw == "":
            raise bad_request(f"{name} is empty")
        chat_id = params.integer(name) if not str(raw).startswith("@") else None
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self: SandboxServer, params: Params) -> SandboxChat:
        """Resolve chat_id for a sending method and raise the error Telegram would give."""
        chat = self._resolve_chat(params)
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            assert chat.user is not None
            if chat.user.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.user.started:
                raise forbidden("bot can't initiate conversation with a user")
        elif chat.bot_status == "left":
            kind = "supergroup" if chat.type == "supergroup" else "group"
            raise forbidden(f"bot is not a member of the {kind} chat")
        return chat

    def _thread_id(self: SandboxServer, chat: SandboxChat, params: Params) -> int | None:
        thread_id = params.integer("message_thread_id")
        if thread_id is None or not chat.is_forum:
            # Outside forums Telegram uses message_thread_id only for reply threads,
            # which the sandbox does not model, so the value is dropped.
            return None
        if thread_id not in chat.topics.values():
            raise bad_request("message thread not found")
        return thread_id

    def _reply_target(
        self: SandboxServer, chat: SandboxChat, params: Params
    ) -> dict[str, Any] | None:
        reply = params.json("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.integer("reply_to_message_id")
            allow_missing = params.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        target = self._messages.get((chat.id, int(message_id)))
        if target is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return target

    def _format(
        self: SandboxServer, text: str, params: Params, *, entities_field: str
    ) -> ParsedText:
        parse_mode = (params.text("parse_mode") or "").lower()
        if parse_mode == "html":
            parsed = parse_html(text, strict_entities=self.limits.strict_html_entities)
        elif parse_mode in ("markdownv2", "markdown"):
            # NOTE: Markdown is not parsed, so the plain text keeps its markup characters
            # and Markdown syntax errors are not reported.
            parsed = ParsedText(text)
        elif parse_mode:
            raise bad_request(f"unsupported parse_mode {params.text('parse_mode')!r}")
        else:
            entities = params.json(entities_field)
            parsed = ParsedText(text, list(entities) if isinstance(entities, list) else [])
        return strip_surrounding_whitespace(parsed)

    def _format_text(self: SandboxServer, params: Params) -> ParsedText:
        raw = params.text("text") or ""
        parsed = self._format(raw, params, entities_field="entities")
        if not parsed.text:
            raise bad_request("message text is empty")
        if utf16_len(parsed.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return parsed

    def _format_caption(self: SandboxServer, params: Params) -> ParsedText | None:
        raw = params.text("caption")
        if not raw:
            return None
        parsed = self._format(raw, params, entities_field="caption_entities")
        if utf16_len(parsed.text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return parsed

    def _reply_markup(self: SandboxServer, params: Params) -> dict[str, Any] | None:
        markup = params.json("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            validate_inline_keyboard(markup["inline_keyboard"])
        return markup

    # -- creating and recording bot messages -----------------------------------------

    def _new_bot_message(
        self: SandboxServer,
        chat: SandboxChat,
        params: Params,
        content: dict[str, Any],
        *,
        kind: str,
        html: str | None,
        document_name: str | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a message the bot sends, record it as a BotMessage and return its JSON."""
        thread_id = self._thread_id(chat, params)
        reply_to = self._reply_target(chat, params)
        markup = self._reply_markup(params)
        self.limits.check_send(chat.id, chat.is_group)

        message: dict[str, Any] = {
            "message_id": chat.allocate_message_id(),
            "from": self._bot_user,
            "chat": chat.to_json(),
            "date": self.now_timestamp(),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to is not None:
            message["reply_to_message"] = _without_reply(reply_to)
        message.update(content)
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        self._messages[(chat.id, message["message_id"])] = message

        text = message.get("text") or message.get("caption") or ""
        record = BotMessage(
            chat_id=chat.id,
            message_id=message["message_id"],
            thread_id=thread_id,
            kind=kind,
            text=text,
            html=html,
            buttons=buttons_from_markup(message.get("reply_markup")),
            sent_at=self.now(),
            document_name=document_name,
            caption=message.get("caption"),
            file_id=file_id,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            raw=message,
        )
        self._bot_messages.append(record)
        self._bot_message_index[(chat.id, record.message_id)] = record
        self._emit_bot_message_event(record, "sent")
        return message

    def api_send_message(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat = self._writable_chat(params)
        parsed = self._format_text(params)
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self._new_bot_message(chat, params, content, kind="text", html=params.text("text"))

    def _media_content(
        self: SandboxServer, params: Params, field_name: str, default_name: str
    ) -> tuple[StoredFile, dict[str, Any]]:
        stored = self._input_file(params, field_name, default_name)
        caption = self._format_caption(params)
        content: dict[str, Any] = {}
        if caption is not None:
            content["caption"] = caption.text
            if caption.entities:
                content["caption_entities"] = caption.entities
        return stored, content

    def api_send_document(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat = self._writable_chat(params)
        stored, content = self._media_content(params, "document", "document")
        content["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_size": stored.file_size,
        }
        return self._new_bot_message(
            chat,
            params,
            content,
            kind="document",
            html=params.text("caption"),
            document_name=stored.file_name,
            file_id=stored.file_id,
        )

    def api_send_photo(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat = self._writable_chat(params)
        stored, content = self._media_content(params, "photo", "photo.jpg")
        content["photo"] = [photo_size(stored)]
        return self._new_bot_message(
            chat, params, content, kind="photo", html=params.text("caption"), file_id=stored.file_id
        )

    def _input_file(
        self: SandboxServer, params: Params, field_name: str, default_name: str
    ) -> StoredFile:
        """Resolve an uploaded file, an attach:// reference or a file_id to a stored file."""
        value = params.text(field_name)
        upload = params.files.get(field_name)
        if value and value.startswith("attach://"):
            upload = params.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"can't find attached file {value!r}")
        if upload is not None:
            file_name, content, content_type = upload
            if not content:
                raise bad_request("file must be non-empty")
            if content_type == "application/octet-stream":
                content_type = mimetypes.guess_type(file_name)[0] or content_type
            return self.store_file(
                content, file_name=file_name or default_name, mime_type=content_type
            )
        if not value:
            raise bad_request(f"there is no {field_name} in the request")
        if value.startswith(("http://", "https://")):
            # NOTE: the sandbox makes no outgoing requests, so files by URL always fail.
            raise bad_request("failed to get HTTP URL content")
        stored = self._files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def store_file(
        self: SandboxServer, content: bytes, *, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        """Keep content in memory and return it with fresh file ids and a download path."""
        number = self._next_file_number
        self._next_file_number += 1
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"SBX-FILE-{number:06d}",
            file_unique_id=f"SBXU{number:06d}",
            file_path=f"documents/file_{number}{suffix}",
            content=content,
            file_name=file_name,
            mime_type=mime_type or (mimetypes.guess_type(file_name or "")[0]),
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def api_copy_message(self: SandboxServer, params: Params) -> dict[str, Any]:
        source_chat = self._resolve_chat(params, "from_chat_id")
        source = self._messages.get((source_chat.id, params.required_integer("message_id")))
        if source is None:
            raise bad_request("message to copy not found")
        chat = self._writable_chat(params)
        content = _copied_content(source)
        if params.values.get("caption") is not None:
            caption = self._format_caption(params)
            content.pop("caption_entities", None)
            content["caption"] = caption.text if caption else None
            if caption is not None and caption.entities:
                content["caption_entities"] = caption.entities
        kind = _message_kind(content)
        # A new caption arrives as the bot wrote it (HTML); a copied text keeps its entities.
        new_caption = params.text("caption") if params.values.get("caption") is not None else None
        message = self._new_bot_message(
            chat,
            params,
            content,
            kind=kind,
            html=new_caption or content.get("text") or content.get("caption"),
            document_name=(content.get("document") or {}).get("file_name"),
        )
        return {"message_id": message["message_id"]}

    def api_forward_message(self: SandboxServer, params: Params) -> dict[str, Any]:
        source_chat = self._resolve_chat(params, "from_chat_id")
        source = self._messages.get((source_chat.id, params.required_integer("message_id")))
        if source is None:
            raise bad_request("message to forward not found")
        chat = self._writable_chat(params)
        content = _copied_content(source)
        sender = source.get("from") or {}
        if sender:
            content["forward_origin"] = {
                "type": "user",
                "sender_user": sender,
                "date": source["date"],
            }
        kind = _message_kind(content)
        return self._new_bot_message(
            chat, params, content, kind=kind, html=content.get("text") or content.get("caption")
        )

    # -- editing and deleting --------------------------------------------------------

    def _editable_message(
        self: SandboxServer, params: Params
    ) -> tuple[SandboxChat, dict[str, Any]]:
        if params.values.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params)
        message_id = params.required_integer("message_id")
        message = self._messages.get((chat.id, message_id))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from") is not self._bot_user:
            raise bad_request("message can't be edited")
        return chat, message

    def _apply_edit(
        self: SandboxServer,
        chat: SandboxChat,
        message: dict[str, Any],
        changes: dict[str, Any],
        markup: dict[str, Any] | None,
        html: str | None,
        html_field: str,
    ) -> dict[str, Any]:
        new_markup = {"inline_keyboard": markup["inline_keyboard"]} if markup else None
        updated = {key: value for key, value in message.items() if key != "reply_markup"}
        updated.update(changes)
        for key in ("entities", "caption_entities"):
            if key in changes and not changes[key]:
                updated.pop(key)
        if new_markup is not None:
            updated["reply_markup"] = new_markup
        comparable_keys = ("text", "entities", "caption", "caption_entities", "reply_markup")
        before = {key: message.get(key) for key in comparable_keys}
        after = {key: updated.get(key) for key in comparable_keys}
        if before == after:
            raise bad_request(NOT_MODIFIED)
        updated["edit_date"] = self.now_timestamp()
        self._messages[(chat.id, message["message_id"])] = updated

        record = self._bot_message_index[(chat.id, message["message_id"])]
        record.raw = updated
        record.text = updated.get("text") or updated.get("caption") or ""
        record.caption = updated.get("caption")
        if html_field in changes:
            record.html = html
        record.buttons = buttons_from_markup(updated.get("reply_markup"))
        record.edited = True
        self._emit_bot_message_event(record, "edited")
        return updated

    def api_edit_message_text(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat, message = self._editable_message(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        parsed = self._format_text(params)
        markup = self._reply_markup(params)
        changes = {"text": parsed.text, "entities": parsed.entities}
        return self._apply_edit(chat, message, changes, markup, params.text("text"), "text")

    def api_edit_message_caption(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat, message = self._editable_message(params)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        caption = self._format_caption(params)
        markup = self._reply_markup(params)
        changes = {
            "caption": caption.text if caption else None,
            "caption_entities": caption.entities if caption else [],
        }
        return self._apply_edit(chat, message, changes, markup, params.text("caption"), "caption")

    def api_edit_message_reply_markup(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat, message = self._editable_message(params)
        markup = self._reply_markup(params)
        if markup is None:
            # An absent reply_markup removes the inline keyboard.
            if "reply_markup" not in message:
                raise bad_request(NOT_MODIFIED)
            updated = {key: value for key, value in message.items() if key != "reply_markup"}
            updated["edit_date"] = self.now_timestamp()
            self._messages[(chat.id, message["message_id"])] = updated
            record = self._bot_message_index[(chat.id, message["message_id"])]
            record.raw = updated
            record.buttons = []
            record.edited = True
            self._emit_bot_message_event(record, "edited")
            return updated
        return self._apply_edit(chat, message, {}, markup, None, "")

    def api_delete_message(self: SandboxServer, params: Params) -> bool:
        chat = self._resolve_chat(params)
        key = (chat.id, params.required_integer("message_id"))
        message = self._messages.get(key)
        if message is None:
            raise bad_request("message to delete not found")
        from_bot = message.get("from") is self._bot_user
        if chat.is_group and not from_bot and chat.bot_status != "administrator":
            raise bad_request("message can't be deleted")
        del self._messages[key]
        record = self._bot_message_index.get(key)
        if record is not None:
            record.deleted = True
            self._emit_bot_message_event(record, "deleted")
        return True

    # -- callback and inline queries -------------------------------------------------

    def api_answer_callback_query(self: SandboxServer, params: Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        answered = self._callback_queries.get(query_id)
        if answered is None or answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text") or ""
        if utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": text or None,
                "show_alert": params.flag("show_alert"),
                "url": params.text("url"),
            }
        )
        return True

    def api_answer_inline_query(self: SandboxServer, params: Params) -> bool:
        self.inline_answers.append(
            {"inline_query_id": params.text("inline_query_id"), "results": params.json("results")}
        )
        return True

    # -- files -----------------------------------------------------------------------

    def api_get_file(self: SandboxServer, params: Params) -> dict[str, Any]:
        stored = self._files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    # -- commands and menu -----------------------------------------------------------

    def _commands_key(self: SandboxServer, params: Params) -> tuple[str, str]:
        scope = params.json("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.text("language_code") or ""

    def api_set_my_commands(self: SandboxServer, params: Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand objects")
        for command in commands:
            if not COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def api_get_my_commands(self: SandboxServer, params: Params) -> list[dict[str, Any]]:
        return self._commands.get(self._commands_key(params), [])

    def api_delete_my_commands(self: SandboxServer, params: Params) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def commands(
        self: SandboxServer, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Return the commands the bot set for a scope (default scope if None)."""
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return self._commands.get((key, language_code), [])

    def api_set_chat_menu_button(self: SandboxServer, params: Params) -> bool:
        button = params.json("menu_button") or {"type": "default"}
        if params.values.get("chat_id") in (None, ""):
            self._default_menu_button = button
            return True
        chat = self._resolve_chat(params)
        chat.menu_button = button
        return True

    def api_get_chat_menu_button(self: SandboxServer, params: Params) -> dict[str, Any]:
        if params.values.get("chat_id") in (None, ""):
            return self._default_menu_button
        chat = self._resolve_chat(params)
        return chat.menu_button or self._default_menu_button

    # -- chats and members -----------------------------------------------------------

    def api_get_chat(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat = self._resolve_chat(params)
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member_json(self: SandboxServer, chat: SandboxChat, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            if chat.type != "private" and chat.bot_status == "administrator":
                return administrator_json(self._bot_user)
            return {
                "status": "left" if chat.bot_status == "left" else "member",
                "user": self._bot_user,
            }
        user = self._users_by_id.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if chat.type == "private":
            if chat.id != user_id:
                raise bad_request("user not found")
            return {"status": "member", "user": user.to_json()}
        status = chat.members.get(user_id)
        if status is None:
            return {"status": "left", "user": user.to_json()}
        if status == "creator":
            return {"status": "creator", "user": user.to_json(), "is_anonymous": False}
        if status == "administrator":
            return administrator_json(user.to_json())
        return {"status": "member", "user": user.to_json()}

    def api_get_chat_member(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat = self._resolve_chat(params)
        return self._member_json(chat, params.required_integer("user_id"))

    def api_get_chat_administrators(self: SandboxServer, params: Params) -> list[dict[str, Any]]:
        chat = self._resolve_chat(params)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        admins = [
            self._member_json(chat, user_id)
            for user_id, status in chat.members.items()
            if status in ("creator", "administrator")
        ]
        if chat.bot_status == "administrator":
            admins.append(self._member_json(chat, self.bot_id))
        return admins

    def api_send_chat_action(self: SandboxServer, params: Params) -> bool:
        chat = self._writable_chat(params)
        action = params.text("action") or ""
        if not action:
            raise bad_request("action is empty")
        self.chat_actions.append((chat.id, action))
        return True

    def api_leave_chat(self: SandboxServer, params: Params) -> bool:
        chat = self._resolve_chat(params)
        if chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        if chat.bot_status != "left":
            old = self._member_json(chat, self.bot_id)
            chat.bot_status = "left"
            self._enqueue_my_chat_member(
                chat, None, old, {"status": "left", "user": self._bot_user}
            )
        return True

    def api_create_forum_topic(self: SandboxServer, params: Params) -> dict[str, Any]:
        chat = self._writable_chat(params)
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        name = params.text("name") or ""
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        # NOTE: Telegram also requires the can_manage_topics right, which is not checked.
        thread_id = self.topic(chat, name)
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}


def validate_inline_keyboard(rows: Any) -> None:
    """Raise ApiError unless rows is a valid inline keyboard, as Telegram checks it."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                # NOTE: the exact description Telegram gives for an empty button text
                # is not confirmed; this wording is a close guess.
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
            actions = [name for name in BUTTON_ACTION_FIELDS if button.get(name) is not None]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, got {', '.join(actions)}"
                )
            data = button.get("callback_data")
            if data is not None:
                size = len(str(data).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"(https?|tg)://\S+$", str(url)):
                raise bad_request("BUTTON_URL_INVALID")


def buttons_from_markup(markup: dict[str, Any] | None) -> list[list[Button]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [
            Button(
                text=button.get("text", ""),
                callback_data=button.get("callback_data"),
                url=button.get("url"),
            )
            for button in row
        ]
        for row in markup["inline_keyboard"]
    ]


def administrator_json(user: dict[str, Any]) -> dict[str, Any]:
    rights = [
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
        "can_change_info",
    ]
    member: dict[str, Any] = {
        "status": "administrator",
        "user": user,
        "can_be_edited": False,
        "is_anonymous": False,
        "can_promote_members": False,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        "can_send_welcome_messages": False,
    }
    member.update({right: True for right in rights})
    return member


def photo_size(stored: StoredFile) -> dict[str, Any]:
    # NOTE: the image is not decoded, so width and height are placeholders.
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": 800,
        "height": 600,
        "file_size": stored.file_size,
    }


def _without_reply(message: dict[str, Any]) -> dict[str, Any]:
    # Telegram does not nest reply_to_message inside a replied-to message.
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _copied_content(source: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "text",
        "entities",
        "caption",
        "caption_entities",
        "document",
        "photo",
        "sticker",
        "voice",
    )
    return {key: source[key] for key in keys if key in source}


def _message_kind(content: dict[str, Any]) -> str:
    if "text" in content:
        return "text"
    if "document" in content:
        return "document"
    return "photo"

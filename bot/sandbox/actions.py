"""The simulated world of the sandbox: users, chats and what users do in them."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.sandbox.models import Button, SandboxChat, SandboxError, SandboxUser
from bot.sandbox.text import find_user_entities, leading_command, mentioned_usernames

if TYPE_CHECKING:
    from bot.sandbox.server import SandboxServer


class UserActions:
    """Mixin of SandboxServer that builds the world and performs user actions."""

    # -- world -----------------------------------------------------------------------

    def user(
        self: SandboxServer,
        name: str,
        *,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> SandboxUser:
        """Return the user called name, creating them on first use.

        New users get ids from 100001 upwards unless user_id fixes one, for example
        to match an id listed in the bot's configuration.
        """
        existing = self._users.get(name)
        if existing is not None:
            return existing
        if user_id is None:
            while self._next_user_id in self._users_by_id:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        elif user_id in self._users_by_id or user_id <= 0:
            raise SandboxError(f"User id {user_id} is taken or not positive; choose another")
        user = SandboxUser(
            name=name,
            id=user_id,
            first_name=first_name or name.capitalize(),
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[name] = user
        self._users_by_id[user.id] = user
        self._chats[user.id] = SandboxChat(id=user.id, type="private", user=user)
        return user

    def private_chat(self: SandboxServer, user: SandboxUser) -> SandboxChat:
        return self._chats[user.id]

    def chat(self: SandboxServer, chat_id: int) -> SandboxChat:
        """Return the chat with this id, or raise SandboxError."""
        chat = self._chats.get(chat_id)
        if chat is None:
            raise SandboxError(f"No chat with id {chat_id} in the sandbox")
        return chat

    def group(
        self: SandboxServer,
        title: str,
        *,
        supergroup: bool = False,
        forum: bool = False,
        added_by: SandboxUser | None = None,
    ) -> SandboxChat:
        """Return the group with this title, creating it with the bot added on first use.

        Creation queues a my_chat_member update and a new_chat_members service message,
        as Telegram sends when a user adds the bot. A forum is always a supergroup.
        """
        existing = self._groups_by_title.get(title)
        if existing is not None:
            return existing
        if forum:
            supergroup = True
        if added_by is None:
            added_by = next(iter(self._users.values()), None) or self.user("owner")
        if supergroup:
            chat_id = -(1_000_000_000_000 + self._next_supergroup)
            self._next_supergroup += 1
        else:
            chat_id = -(400_000 + self._next_basic_group)
            self._next_basic_group += 1
        chat = SandboxChat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            is_forum=forum,
        )
        chat.members[added_by.id] = "creator"
        self._chats[chat_id] = chat
        self._groups_by_title[title] = chat

        self._enqueue_my_chat_member(
            chat,
            added_by,
            {"status": "left", "user": self._bot_user},
            {"status": "member", "user": self._bot_user},
        )
        self._service_message(chat, added_by, {"new_chat_members": [self._bot_user]})
        return chat

    def topic(self: SandboxServer, chat: SandboxChat, name: str) -> int:
        """Return the message_thread_id of the forum topic called name, creating it if new."""
        if not chat.is_forum:
            raise SandboxError(f"Chat {chat.title!r} is not a forum; create it with forum=True")
        existing = chat.topics.get(name)
        if existing is not None:
            return existing
        # On Telegram a topic's thread id is the id of its forum_topic_created message.
        creator = self._creator(chat)
        message = self._service_message(
            chat, creator, {"forum_topic_created": {"name": name, "icon_color": 7322096}}
        )
        thread_id = message["message_id"]
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        chat.topics[name] = thread_id
        return thread_id

    def promote(self: SandboxServer, chat: SandboxChat, user: SandboxUser | None = None) -> None:
        """Make user, or the bot when user is None, an administrator of a group.

        An administrator bot receives every group message, as on Telegram.
        """
        if user is None:
            chat.bot_status = "administrator"
        elif chat.members.get(user.id) != "creator":
            chat.members[user.id] = "administrator"

    def block(self: SandboxServer, user: SandboxUser) -> None:
        """Block the bot as user, so that messages to their private chat fail with 403."""
        if user.blocked:
            return
        user.blocked = True
        chat = self.private_chat(user)
        self._enqueue_my_chat_member(
            chat,
            user,
            {"status": "member", "user": self._bot_user},
            {"status": "kicked", "user": self._bot_user, "until_date": 0},
        )

    def unblock(self: SandboxServer, user: SandboxUser) -> None:
        if not user.blocked:
            return
        user.blocked = False
        chat = self.private_chat(user)
        self._enqueue_my_chat_member(
            chat,
            user,
            {"status": "kicked", "user": self._bot_user, "until_date": 0},
            {"status": "member", "user": self._bot_user},
        )

    def migrate(self: SandboxServer, chat: SandboxChat) -> SandboxChat:
        """Upgrade a basic group to a supergroup with a new id, as Telegram does.

        Afterwards sending to the old id fails with 400 and migrate_to_chat_id.
        """
        if chat.type != "group" or chat.migrated_to is not None:
            raise SandboxError(f"Only a basic group can be migrated, not chat {chat.id}")
        new_id = -(1_000_000_000_000 + self._next_supergroup)
        self._next_supergroup += 1
        supergroup = SandboxChat(
            id=new_id,
            type="supergroup",
            title=chat.title,
            members=dict(chat.members),
            bot_status=chat.bot_status,
        )
        self._chats[new_id] = supergroup
        assert chat.title is not None
        self._groups_by_title[chat.title] = supergroup
        creator = self._creator(chat)
        self._service_message(chat, creator, {"migrate_to_chat_id": new_id})
        chat.migrated_to = new_id
        self._service_message(supergroup, creator, {"migrate_from_chat_id": chat.id})
        return supergroup

    def _creator(self: SandboxServer, chat: SandboxChat) -> SandboxUser:
        for user_id, status in chat.members.items():
            if status == "creator":
                return self._users_by_id[user_id]
        return self.user("owner")

    # -- building user messages ------------------------------------------------------

    def _enqueue_my_chat_member(
        self: SandboxServer,
        chat: SandboxChat,
        actor: SandboxUser | None,
        old: dict[str, Any],
        new: dict[str, Any],
    ) -> dict[str, Any]:
        actor_json = actor.to_json() if actor is not None else self._bot_user
        payload = {
            "chat": chat.to_json(),
            "from": actor_json,
            "date": self.now_timestamp(),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        return self.enqueue_update("my_chat_member", payload)

    def _service_message(
        self: SandboxServer, chat: SandboxChat, actor: SandboxUser, content: dict[str, Any]
    ) -> dict[str, Any]:
        message = {
            "message_id": chat.allocate_message_id(),
            "from": actor.to_json(),
            "chat": chat.to_json(),
            "date": self.now_timestamp(),
            **content,
        }
        self._messages[(chat.id, message["message_id"])] = message
        self.enqueue_update("message", message)
        return message

    def _user_message(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        content: dict[str, Any],
        *,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Store a message from user and queue it for the bot if the bot would receive it."""
        if chat.migrated_to is not None:
            raise SandboxError(
                f"Chat {chat.id} was migrated to {chat.migrated_to}; use the new chat"
            )
        if chat.type == "private":
            if chat.id != user.id:
                raise SandboxError(f"{user.name} cannot write in the private chat of another user")
            user.started = True
        else:
            chat.members.setdefault(user.id, "member")

        message: dict[str, Any] = {
            "message_id": chat.allocate_message_id(),
            "from": user.to_json(),
            "chat": chat.to_json(),
            "date": self.now_timestamp(),
        }
        if thread_id is not None:
            if not chat.is_forum or thread_id not in chat.topics.values():
                raise SandboxError(f"No forum topic with thread id {thread_id} in chat {chat.id}")
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to_message_id is not None:
            target = self._messages.get((chat.id, reply_to_message_id))
            if target is None:
                raise SandboxError(
                    f"No message {reply_to_message_id} in chat {chat.id} to reply to"
                )
            message["reply_to_message"] = {
                k: v for k, v in target.items() if k != "reply_to_message"
            }
        message.update(content)
        self._messages[(chat.id, message["message_id"])] = message
        if self._bot_receives(chat, message):
            self.enqueue_update("message", message)
        return message

    def _bot_receives(self: SandboxServer, chat: SandboxChat, message: dict[str, Any]) -> bool:
        """Apply Telegram's privacy mode to a user message in chat."""
        if chat.type == "private":
            return True
        if chat.bot_status == "left":
            return False
        if not self.privacy_mode or chat.bot_status == "administrator":
            return True
        text = message.get("text") or message.get("caption") or ""
        command = leading_command(text)
        if command is not None:
            addressed_to = command[1]
            return addressed_to is None or addressed_to.lower() == self.bot_username.lower()
        reply = message.get("reply_to_message")
        if reply is not None and reply.get("from") is self._bot_user:
            return True
        return self.bot_username.lower() in mentioned_usernames(text)

    # -- user actions ----------------------------------------------------------------

    async def send_text(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Send text as user in chat and return the message JSON."""
        if not text:
            raise SandboxError("A user message needs non-empty text")
        content: dict[str, Any] = {"text": text}
        entities = find_user_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(
            user, chat, content, thread_id=thread_id, reply_to_message_id=reply_to_message_id
        )

    async def send_document(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        path_or_bytes: str | Path | bytes,
        *,
        filename: str | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Send a file as user; the bot can fetch it with getFile and the download URL."""
        if isinstance(path_or_bytes, bytes):
            content_bytes = path_or_bytes
            filename = filename or "document"
        else:
            path = Path(path_or_bytes)
            content_bytes = path.read_bytes()
            filename = filename or path.name
        mime_type = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.store_file(content_bytes, file_name=filename, mime_type=mime_type)
        content: dict[str, Any] = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": stored.file_size,
            }
        }
        self._add_caption(content, caption)
        return self._user_message(user, chat, content, thread_id=thread_id)

    async def send_photo(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        path_or_bytes: str | Path | bytes,
        *,
        caption: str | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        from bot.sandbox.methods import photo_size

        if isinstance(path_or_bytes, bytes):
            data, name = path_or_bytes, "photo.jpg"
        else:
            data, name = Path(path_or_bytes).read_bytes(), Path(path_or_bytes).name
        stored = self.store_file(data, file_name=name, mime_type="image/jpeg")
        content: dict[str, Any] = {"photo": [photo_size(stored)]}
        self._add_caption(content, caption)
        return self._user_message(user, chat, content, thread_id=thread_id)

    async def send_sticker(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        emoji: str = "👍",
        *,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self.store_file(b"RIFF-sticker", file_name="sticker.webp", mime_type="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.file_size,
        }
        return self._user_message(user, chat, {"sticker": sticker}, thread_id=thread_id)

    async def send_voice(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        data: bytes = b"OggS-voice",
        *,
        duration: int = 3,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        stored = self.store_file(data, file_name="voice.ogg", mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.file_size,
        }
        return self._user_message(user, chat, {"voice": voice}, thread_id=thread_id)

    async def send_contact(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        phone_number: str,
        *,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Share user's own contact card, as Telegram sends it with the person's user id."""
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": user.first_name,
            "user_id": user.id,
        }
        if user.last_name:
            contact["last_name"] = user.last_name
        return self._user_message(user, chat, {"contact": contact}, thread_id=thread_id)

    async def forward_text(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        text: str,
        *,
        from_user: SandboxUser,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Forward, as user, a text message originally written by from_user."""
        content: dict[str, Any] = {
            "text": text,
            "forward_origin": {
                "type": "user",
                "sender_user": from_user.to_json(),
                "date": self.now_timestamp(),
            },
        }
        entities = find_user_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(user, chat, content, thread_id=thread_id)

    async def edit_text(
        self: SandboxServer, user: SandboxUser, chat: SandboxChat, message_id: int, new_text: str
    ) -> dict[str, Any]:
        """Edit a text message of user and queue an edited_message update."""
        message = self._messages.get((chat.id, message_id))
        if message is None or message.get("from", {}).get("id") != user.id or "text" not in message:
            raise SandboxError(f"No text message {message_id} from {user.name} in chat {chat.id}")
        edited = {key: value for key, value in message.items() if key != "entities"}
        edited["text"] = new_text
        edited["edit_date"] = self.now_timestamp()
        entities = find_user_entities(new_text)
        if entities:
            edited["entities"] = entities
        self._messages[(chat.id, message_id)] = edited
        if self._bot_receives(chat, edited):
            self.enqueue_update("edited_message", edited)
        return edited

    def last_user_message_id(self: SandboxServer, user: SandboxUser, chat: SandboxChat) -> int:
        """Return the id of the latest message user sent in chat, or raise SandboxError."""
        sent = [
            message_id
            for (chat_id, message_id), message in self._messages.items()
            if chat_id == chat.id and message.get("from", {}).get("id") == user.id
        ]
        if not sent:
            raise SandboxError(f"{user.name} has sent no message in chat {chat.id}")
        return max(sent)

    def question_for(
        self: SandboxServer, user: SandboxUser, chat: SandboxChat, thread_id: int | None = None
    ) -> int:
        """Return the id of the bot message that `user` would answer with a reply in `chat`.

        That is the bot's latest message replying to one of the user's messages (a form
        question in a group), or else the bot's latest message there. Raise SandboxError
        when the bot has sent nothing in the chat.
        """
        own = {
            message_id
            for (chat_id, message_id), message in self._messages.items()
            if chat_id == chat.id and message.get("from", {}).get("id") == user.id
        }
        sent = self.bot_messages(chat, thread_id=thread_id)
        if not sent:
            raise SandboxError(f"The bot has sent no message in chat {chat.id} to reply to")
        addressed = [message for message in sent if message.reply_to_message_id in own]
        return (addressed or sent)[-1].message_id

    def _add_caption(self: SandboxServer, content: dict[str, Any], caption: str | None) -> None:
        if not caption:
            return
        content["caption"] = caption
        entities = find_user_entities(caption)
        if entities:
            content["caption_entities"] = entities

    # -- pressing inline buttons -----------------------------------------------------

    async def press(
        self: SandboxServer,
        user: SandboxUser,
        chat: SandboxChat,
        button_text: str,
        *,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Press the inline button with this text on the bot's latest message that has it.

        Matching tries the exact text first, then ignoring case and surrounding
        whitespace. A deep link https://t.me/<bot>?start=PAYLOAD sends "/start PAYLOAD"
        in the user's private chat. Returns the queued update. Raises SandboxError if no
        bot message in the chat has such a button.
        """
        found = self._find_button(chat, button_text, thread_id)
        if found is None:
            raise SandboxError(self._missing_button_message(chat, button_text, thread_id))
        message_id, button = found
        if button.callback_data is not None:
            return await self.press_data(user, chat, message_id, button.callback_data)
        if button.url is not None:
            payload = self._deep_link_payload(button.url)
            if payload is None:
                raise SandboxError(
                    f"Button {button.text!r} opens {button.url}, which is not a deep link to "
                    f"@{self.bot_username}; the sandbox cannot follow external links"
                )
            text = f"/start {payload}" if payload else "/start"
            message = await self.send_text(user, self.private_chat(user), text)
            return {"message": message}
        raise SandboxError(f"Button {button.text!r} has neither callback_data nor url")

    async def press_data(
        self: SandboxServer, user: SandboxUser, chat: SandboxChat, message_id: int, data: str
    ) -> dict[str, Any]:
        """Queue a callback query with any data, including data no button carries."""
        message = self._messages.get((chat.id, message_id))
        if message is None:
            raise SandboxError(f"No message {message_id} in chat {chat.id}")
        query_id = f"{self._next_callback_id}"
        self._next_callback_id += 1
        self._callback_queries[query_id] = False
        query = {
            "id": query_id,
            "from": user.to_json(),
            "message": message,
            # Telegram's chat_instance is an opaque stable id per chat.
            "chat_instance": str(abs(chat.id) * 7919 % 10**12),
            "data": data,
        }
        return self.enqueue_update("callback_query", query)

    def _find_button(
        self: SandboxServer, chat: SandboxChat, button_text: str, thread_id: int | None
    ) -> tuple[int, Button] | None:
        messages = list(reversed(self.bot_messages(chat, thread_id=thread_id)))
        expected_text = button_text.strip().casefold()
        matchers = (
            lambda text: text == button_text,
            lambda text: text.strip().casefold() == expected_text,
        )
        for matches in matchers:
            for message in messages:
                for row in message.buttons:
                    for button in row:
                        if matches(button.text):
                            return message.message_id, button
        return None

    def _missing_button_message(
        self: SandboxServer, chat: SandboxChat, button_text: str, thread_id: int | None
    ) -> str:
        existing = [
            f"{button!r} (message {message.message_id})"
            for message in self.bot_messages(chat, thread_id=thread_id)
            for button in message.button_texts()
        ]
        where = f"chat {chat.id}" + (f", thread {thread_id}" if thread_id is not None else "")
        listing = ", ".join(existing) if existing else "none"
        return (
            f"No button {button_text!r} on the bot's messages in {where}. Buttons there: {listing}"
        )

    def _deep_link_payload(self: SandboxServer, url: str) -> str | None:
        pattern = rf"https?://(?:www\.)?(?:t|telegram)\.me/{re.escape(self.bot_username)}/?(?:\?start=([A-Za-z0-9_-]*))?$"
        match = re.fullmatch(pattern, url, flags=re.IGNORECASE)
        if match is None:
            return None
        return match.group(1) or ""

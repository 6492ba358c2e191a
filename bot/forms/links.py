"""Web links in answers: checking one typed link, and finding the links inside a message."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable

from .base import FieldError, require_text, typed

# In characters: a round limit far above the length of any meeting or recording link.
MAX_LINK_LENGTH = 2048

# A URL scheme as RFC 3986 defines it, followed by its colon.
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
# An http(s) URL written out in text, up to the next space or character a URL cannot contain.
_PLAIN_URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
# Punctuation that ends a sentence after a URL rather than belonging to it.
_TRAILING_PUNCTUATION = ".,;:!?'\"»”’)]}"


def parse_link(text: str) -> str:
    """Return `text` as an http(s) URL, with https:// added when it names no scheme.

    Raise FieldError("link_invalid") with a `reason`. It is "space" for spaces or
    control characters inside, "too_long" for more than MAX_LINK_LENGTH characters, and
    "scheme" for a scheme other than http and https, such as javascript: or tg:. It is
    "login" for a user name or password before @, as in https://user:pass@example.org,
    which can disguise the real host. It is "host" when the link names no public host
    with a dot, as with localhost or 127.0.0.1.
    """
    answer = require_text(text)
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in answer):
        raise FieldError("link_invalid", typed=typed(answer), reason="space")
    if len(answer) > MAX_LINK_LENGTH:
        raise FieldError(
            "link_invalid", typed=typed(answer), reason="too_long", maximum=MAX_LINK_LENGTH
        )
    url = _with_scheme(answer)
    if _has_login(url):
        raise FieldError("link_invalid", typed=typed(answer), reason="login")
    if not _has_public_host(url):
        raise FieldError("link_invalid", typed=typed(answer), reason="host")
    return url


def _with_scheme(answer: str) -> str:
    """Return the link with its scheme in lower case, or with https:// put in front."""
    match = _SCHEME_RE.match(answer)
    after_colon = answer[match.end() :] if match else ""
    if match and after_colon.startswith("//"):
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            raise FieldError("link_invalid", typed=typed(answer), reason="scheme")
        return scheme + answer[match.end(1) :]
    if match and not after_colon[:1].isdigit():
        # "javascript:alert(1)" or "mailto:a@b.in". A digit after the colon is a port,
        # as in "meet.example.org:8443/room", which gets https:// like any other host.
        scheme = match.group(1).lower()
        reason = "host" if scheme in ("http", "https") else "scheme"
        raise FieldError("link_invalid", typed=typed(answer), reason=reason)
    return "https:" + answer if answer.startswith("//") else "https://" + answer


def _has_login(url: str) -> bool:
    """Tell whether the URL has a user name or password before @ in its host part."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return "@" in parts.netloc


def _has_public_host(url: str) -> bool:
    """Tell whether the URL names a host that others can reach."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        return False
    host = parts.hostname
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return (
            len(labels) >= 2
            and all(_is_label(label) for label in labels)
            and not labels[-1].isdigit()
            and labels[-1] != "localhost"
        )
    return address.is_global


def _is_label(label: str) -> bool:
    """Tell whether `label` can be one dot-separated part of a host name.

    Letters, marks and digits of any script count, because internationalised names
    have them, with hyphens or underscores only inside.
    """
    return (
        bool(label)
        and label[0] not in "-_"
        and label[-1] not in "-_"
        and all(unicodedata.category(char)[0] in "LMN" or char in "-_" for char in label)
    )


def find_links(text: str, marked: Iterable[str] = ()) -> tuple[str, ...]:
    """Return the http(s) links in a message, each once, those in `marked` first.

    `marked` contains the URLs that the message's entities mark (url and text_link),
    which Telegram finds also without a scheme, as in "zoom.us/j/123". Links written
    out with http:// or https:// in `text` count too, because a message that arrives
    without entities has none marked. Anything that `parse_link` rejects is left out.
    """
    found: list[str] = []
    plain = [_trimmed(match.group()) for match in _PLAIN_URL_RE.finditer(text)]
    for candidate in (*marked, *plain):
        try:
            link = parse_link(candidate)
        except FieldError:
            continue
        if link not in found:
            found.append(link)
    return tuple(found)


def _trimmed(url: str) -> str:
    """Drop sentence punctuation after a URL, keeping a ")" that closes a "(" inside it."""
    while url and url[-1] in _TRAILING_PUNCTUATION:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url

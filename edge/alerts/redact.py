"""Keep secrets out of logs: tokens live in notify URLs and the MQTT password.

`redact(text)` hides the credential parts of every URL in a string (user:password@, the path and
the query, where services such as Telegram, Pushover and ntfy carry tokens), keeping only the scheme
and host so a log line still says which channel failed. `SecretFilter` is a logging filter that
replaces known secret strings in every record that passes a handler; `install_secret_filter`
attaches one to the root logger's handlers.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable

_URL = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://(?P<rest>[^\s'\"<>]+)")
_MASK = "****"


def _redact_match(match: re.Match[str]) -> str:
    rest = match.group("rest")
    authority, sep, _ = rest.partition("/")
    host = authority.rsplit("@", 1)[-1]
    # A URL like tgram://bottoken/chatid has no real host: its "host" is the token itself.
    looks_like_host = bool(re.fullmatch(r"[\w.-]+(:\d+)?", host)) and ("." in host or host.startswith("localhost"))
    shown = host if looks_like_host else _MASK
    if "@" in authority:
        shown = f"{_MASK}@{shown}"
    return f"{match.group('scheme')}://{shown}" + (f"/{_MASK}" if sep else "")


def redact(text: str) -> str:
    """`text` with every URL's credentials, path and query replaced by ****."""
    return _URL.sub(_redact_match, text)


def url_secrets(url: str, min_length: int = 6) -> set[str]:
    """The pieces of `url` that may be tokens: user, password, path segments, query values, and the
    "host" when it is not a host name (tgram://TOKEN/...). Pieces shorter than `min_length` are left
    out so that common words are not masked everywhere (real tokens are longer)."""
    parts = urllib.parse.urlsplit(url)
    authority = parts.netloc.rsplit("@", 1)
    pieces = set(re.split(r"[:@]", authority[0])) if len(authority) == 2 else set()
    host = authority[-1]
    if not re.fullmatch(r"[\w-]+(\.[\w-]+)+(:\d+)?|localhost(:\d+)?|\[[0-9a-fA-F:]+\](:\d+)?", host):
        pieces.add(host)
    pieces.update(urllib.parse.unquote(p) for p in parts.path.split("/"))
    pieces.update(v for _, v in urllib.parse.parse_qsl(parts.query))
    return {p for p in pieces if len(p) >= min_length}


class SecretFilter(logging.Filter):
    """A logging filter that rewrites each record's message with `secrets` replaced by ****.

    secrets: the literal strings to hide (URLs, passwords); empty strings are ignored. For a URL,
    its token-like pieces (`url_secrets`) are hidden too, since libraries log them apart (Apprise
    logs an ntfy topic in its payload). redact_urls: also pass every URL in the text through `redact`
    (for logs, where a library may print a token in a form of its own); the set-up page turns it off
    so that an ordinary link (a doctor's fix) stays whole. The record's args are merged into its
    message first, so a secret passed as a %s argument is caught too.
    """

    def __init__(self, secrets: Iterable[str] = (), redact_urls: bool = True) -> None:
        super().__init__()
        values = {s for s in secrets if s}
        for value in list(values):
            if "://" in value:
                values |= url_secrets(value)
        self.secrets = sorted(values, key=len, reverse=True)
        self.redact_urls = redact_urls

    def scrub(self, text: str) -> str:
        for value in self.secrets:
            text = text.replace(value, _MASK)
        return redact(text) if self.redact_urls else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = self.scrub(message)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        record.msg, record.args = cleaned, None
        return True


def install_secret_filter(secrets: Iterable[str]) -> None:
    """Hide `secrets` in everything the root logger's handlers emit (call after logging is set up).

    Idempotent: a handler that already has a SecretFilter gets the new secrets added to it.
    """
    new = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        existing = next((f for f in handler.filters if isinstance(f, SecretFilter)), None)
        if existing is None:
            handler.addFilter(SecretFilter(new.secrets))
        else:
            existing.secrets = sorted(set(existing.secrets) | set(new.secrets), key=len, reverse=True)

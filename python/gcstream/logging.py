"""Structured, levelled logging that never carries PII or secrets.

Every gcstream module logs through ``logging.getLogger("gcstream.<module>")`` and never puts
transcript text or credentials in a message. This module is the defence in depth behind that
rule: :func:`configure` installs one handler on the ``gcstream`` logger whose
:class:`ScrubbingFilter` rewrites every record before it is written:

* registered secrets (the OAuth client secret, access tokens) become ``***``;
* in any URL, the password of its user info and the values of query parameters whose names look
  secret (``token``, ``api_key``, ``sig``, ...) become ``***`` (:func:`mask_urls`);
* PII in digit form (payment cards, SSNs, phone numbers, e-mail addresses) and long runs of
  spoken digits ("four one one one ...") become their tag (``[CREDIT_CARD]``, ``[SPOKEN_DIGITS]``);
* then the core's own :class:`gcstream.Redactor` reads the line, so a log line is redacted at
  least as well as a record (other separators, international numbers, compound number words).

::

    from gcstream.logging import configure, register_secret

    configure(level="INFO", fmt="json")
    register_secret(settings.client_secret.get_secret_value())

Next: log with ``extra={...}`` for structured fields; ``fmt="json"`` writes them as keys.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import urllib.parse
from typing import IO, Any, Final, Literal

from gcstream._core import Redactor

__all__ = [
    "JsonFormatter",
    "ScrubbingFilter",
    "TextFormatter",
    "configure",
    "mask_url",
    "mask_urls",
    "register_secret",
    "scrub",
    "url_has_credentials",
    "url_secrets",
]

LogFormat = Literal["text", "json"]

_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)

_NUMBER_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)"
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[EMAIL]"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[SSN]"),
    (re.compile(r"(?:\+?1[ .-]?)?\(?\b\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b"), "[PHONE]"),
    # Four or more spoken digits in a row: an account, card, phone or SSN read aloud.
    (re.compile(rf"\b{_NUMBER_WORD}(?:[\s,-]+{_NUMBER_WORD}){{3,}}\b", re.IGNORECASE), "[SPOKEN_DIGITS]"),
    (re.compile(r"\b[\w.+-]+ (?:dot [\w-]+ )*at [\w-]+(?: dot [\w-]+)+\b", re.IGNORECASE), "[EMAIL]"),
)

# The core's redactor with its defaults, after the patterns above (whose tags it leaves alone).
_REDACTOR: Final = Redactor()

_secrets_lock = threading.Lock()
_secrets: set[str] = set()
MIN_SECRET_LEN: Final = 4
"""Shorter values are not treated as secrets (they would blank out ordinary words)."""


def register_secret(value: str | None) -> None:
    """Make every later log line replace ``value`` with ``***`` (client secrets, tokens)."""
    if value and len(value) >= MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


MASK: Final = "***"

_URL: Final = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_SECRET_PARAM: Final = re.compile(r"token|key|secret|passw|pwd|signature|sig|auth|credential|session", re.I)
_SHORT_SECRET_PARAMS: Final = frozenset({"p", "pw", "pass"})  # InfluxDB v1 sends its password as ``p``


def _secret_param(name: str) -> bool:
    name = urllib.parse.unquote_plus(name)
    return name.lower() in _SHORT_SECRET_PARAMS or _SECRET_PARAM.search(name) is not None


def _split_url(url: str) -> tuple[urllib.parse.SplitResult, str | None] | None:
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL after all (a bad port, a stray bracket): nothing to mask
        return None
    return (parts, password) if parts.scheme and parts.netloc else None


def url_has_credentials(url: str) -> bool:
    """Whether ``url`` carries user info (``user@`` or ``user:password@``)."""
    split = _split_url(url)
    return split is not None and "@" in split[0].netloc


def url_secrets(url: str) -> list[str]:
    """The secrets a URL carries: the password of its user info and the values of query parameters
    whose names look secret, as written and decoded (register them with :func:`register_secret`)."""
    split = _split_url(url)
    if split is None:
        return []
    parts, password = split
    if password is None and "@" in parts.netloc:  # a token as the user info (nats://TOKEN@host)
        password = parts.netloc.rpartition("@")[0]
    found = [password, urllib.parse.unquote(password)] if password else []
    for pair in re.split(r"[&;]", parts.query):
        name, eq, value = pair.partition("=")
        if eq and value and _secret_param(name):
            found += [value, urllib.parse.unquote_plus(value)]
    return list(dict.fromkeys(found))


def mask_url(url: str) -> str:
    """``url`` with the password of its user info (or the user info itself when it has no password:
    ``nats://***@host``, a token) and secret-looking query values replaced by ``***``:
    ``https://svc:***@kb.example.com/ingest?api_key=***&v=1``. Anything that is not a URL
    comes back as it is."""
    split = _split_url(url)
    if split is None:
        return url
    parts, password = split
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{host}"
    elif "@" in netloc:  # user info alone is the credential: a NATS token, an API key as user
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    pairs = []
    for pair in re.split(r"([&;])", parts.query):
        name, eq, value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if eq and value and _secret_param(name) else pair)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query="".join(pairs)))


def mask_urls(text: str) -> str:
    """``text`` with every URL in it passed through :func:`mask_url` (error messages, log lines)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: mask_url(m.group(0)), text)


# 13-19 digits, optionally grouped by spaces or dashes: a payment card when the Luhn sum checks.
_CARD: Final = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[CREDIT_CARD]" if _luhn_ok(digits) else match.group(0)


def scrub(text: str) -> str:
    """Return ``text`` with registered secrets and URL credentials masked and PII patterns replaced
    by their tag."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = mask_urls(text)
    text = _CARD.sub(_card, text)
    for pattern, tag in _PATTERNS:
        text = pattern.sub(tag, text)
    return _REDACTOR.redact(text)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_value(v) for v in value]
    return scrub(str(value))


class ScrubbingFilter(logging.Filter):
    """Rewrites each record in place: message, arguments, exception text and extra fields.

    The formatted message replaces ``msg``/``args`` so a later formatter cannot re-insert a raw
    argument; the exception is rendered once and scrubbed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub ``record``; always returns True (nothing is dropped)."""
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _scrub_value(value))
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, extra fields, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``HH:MM:SS level logger: message key=value ...`` for people watching a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one readable line (plus the exception, if any)."""
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{stamp} {record.levelname.lower():7} {record.name}: {record.getMessage()}"
        if extras:
            line = f"{line} {extras}"
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        return line


_HANDLER_MARK: Final = "_gcstream_handler"


def configure(
    level: str | int = "INFO",
    fmt: LogFormat = "text",
    *,
    stream: IO[str] | None = None,
    path: str | None = None,
    secrets: tuple[str, ...] = (),
) -> logging.Handler:
    """Send ``gcstream.*`` logs to ``stream`` (stderr) or ``path``, scrubbed and formatted.

    Calling it again replaces the handler it installed before (so tests and CLIs may call it
    freely). Loggers of other libraries are left alone.

    Args:
        level: ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or a number.
        fmt: ``text`` for terminals, ``json`` for log shippers (one object per line).
        stream: Where to write; default ``sys.stderr``. Ignored when ``path`` is given.
        path: Append to this file instead.
        secrets: Values to mask in every line (see :func:`register_secret`).

    Returns:
        The installed handler (remove it with ``logging.getLogger("gcstream").removeHandler``).
    """
    for secret in secrets:
        register_secret(secret)
    logger = logging.getLogger("gcstream")
    for old in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
        logger.removeHandler(old)
        old.close()
    handler: logging.Handler
    if path is not None:
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(ScrubbingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    return handler

"""The one error tree of gcstream.

::

    GcstreamError
    ├── ConfigError                 a setting that cannot work (also ValueError)
    ├── ProtocolError
    │   ├── LocalProtocolError      you used the API wrongly
    │   └── RemoteProtocolError     the peer sent something broken
    │       └── FramingError        bad JSON framing (also ValueError); carries kind and offset
    ├── AuthError                   OAuth failed (bad credentials, missing permission)
    ├── ApiError                    a Genesys Cloud REST call failed; carries status
    │   └── RateLimitedError        HTTP 429 that could not be waited out
    ├── ConnectionLostError         a socket or peer went away and could not be recovered
    └── SinkError                   a sink could not accept records (for now: retried, spooled)
        └── SinkRejectedError       a sink refused some records for good (set aside, not retried)

Framing errors are usually *collected* (``FrameAssembler.take_errors()``) rather than raised, so
the good documents in the same chunk survive; they are exceptions so that callers may raise them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "ConnectionLostError",
    "FramingError",
    "GcstreamError",
    "LocalProtocolError",
    "ProtocolError",
    "RateLimitedError",
    "RemoteProtocolError",
    "SinkError",
    "SinkRejectedError",
]


class GcstreamError(Exception):
    """Root of every error gcstream raises."""


class ConfigError(GcstreamError, ValueError):
    """A configuration value that cannot work.

    Attributes:
        field: The setting at fault, dotted for nested settings (``sinks.influx.url``).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ProtocolError(GcstreamError):
    """A protocol was not followed, by us or by the peer."""


class LocalProtocolError(ProtocolError):
    """The API was used wrongly (a call out of order, a bad argument)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that breaks the protocol."""


class FramingError(RemoteProtocolError, ValueError):
    """Input that is not a well-formed JSON document.

    Attributes:
        kind: A stable snake_case name such as ``unexpected_byte`` or ``document_too_large``.
        offset: Byte offset of the first bad byte: within the message in ``message`` mode, since
            the start of the stream in ``stream`` mode.
    """

    def __init__(self, message: str, kind: str, offset: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.offset = offset

    def __reduce__(self) -> tuple[type[FramingError], tuple[str, str, int]]:
        return (type(self), (str(self), self.kind, self.offset))


class AuthError(GcstreamError):
    """OAuth failed: wrong client id or secret, or a permission the client's role lacks.

    Attributes:
        status: The HTTP status, if the server answered.
        missing_permissions: Permissions Genesys Cloud named as missing, if any.
    """

    def __init__(
        self, message: str, *, status: int | None = None, missing_permissions: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.missing_permissions = missing_permissions


class ApiError(GcstreamError):
    """A Genesys Cloud REST call failed.

    Attributes:
        status: The HTTP status code.
        code: The Genesys error code from the body (``too.many.requests.retry.after``), if any.
    """

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RateLimitedError(ApiError):
    """HTTP 429 that could not be waited out within the caller's deadline.

    Attributes:
        retry_after: Seconds the server asked us to wait.
    """

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, status=429, code=code)
        self.retry_after = retry_after


class ConnectionLostError(GcstreamError):
    """A socket or peer went away and could not be recovered."""


class SinkError(GcstreamError):
    """A sink could not accept records.

    Attributes:
        sink: The sink's name.
    """

    def __init__(self, message: str, *, sink: str) -> None:
        super().__init__(message)
        self.sink = sink


class SinkRejectedError(SinkError):
    """A sink refused some records of a batch for good and stored all the others.

    Sending a refused record again cannot succeed (the endpoint answered that the request itself
    is wrong, or the record cannot be stored), so the pipeline sets it aside in a dead-letter file
    instead of retrying it, and delivery goes on with the next record.

    Attributes:
        sink: The sink's name.
        rejected: Position in the batch -> reason class (``http_422``, ``too_large``, ...): a
            short, stable name, never record content.
    """

    def __init__(self, message: str, *, sink: str, rejected: Mapping[int, str]) -> None:
        super().__init__(message, sink=sink)
        self.rejected = dict(rejected)

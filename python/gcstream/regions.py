"""The official Genesys Cloud region table, and the URLs a client talks to.

The table is ``PureCloudRegionHosts`` of the official Python SDK (PureCloudPlatformClientV2
269.0.0; research/genesys-real-api.md §3.3). Every region has one domain; the REST API lives at
``https://api.{domain}`` and OAuth at ``https://login.{domain}``. The WebSocket host is never
built: it is whatever ``connectUri`` a channel returns.

::

    >>> endpoints_for(region="eu-central-1").login_base
    'https://login.mypurecloud.de'
    >>> endpoints_for(base_url="http://127.0.0.1:8080").api_base
    'http://127.0.0.1:8080'
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from gcstream.exceptions import ConfigError

__all__ = ["REGIONS", "Endpoints", "endpoints_for", "resolve_region"]

REGIONS: Final = MappingProxyType(
    {
        "us_east_1": "mypurecloud.com",
        "us_east_2": "use2.us-gov-pure.cloud",
        "us_west_2": "usw2.pure.cloud",
        "ca_central_1": "cac1.pure.cloud",
        "sa_east_1": "sae1.pure.cloud",
        "mx_central_1": "mxc1.pure.cloud",
        "eu_west_1": "mypurecloud.ie",
        "eu_west_2": "euw2.pure.cloud",
        "eu_central_1": "mypurecloud.de",
        "eu_central_2": "euc2.pure.cloud",
        "eusc_de_east_1": "edee1.eusc-pure.cloud",
        "me_central_1": "mec1.pure.cloud",
        "ap_south_1": "aps1.pure.cloud",
        "ap_southeast_1": "apse1.pure.cloud",
        "ap_southeast_2": "mypurecloud.com.au",
        "ap_northeast_1": "mypurecloud.jp",
        "ap_northeast_2": "apne2.pure.cloud",
        "ap_northeast_3": "apne3.pure.cloud",
    }
)
"""SDK region key -> domain. ``api.{domain}`` serves REST, ``login.{domain}`` serves OAuth."""

_BY_DOMAIN: Final = {domain: key for key, domain in REGIONS.items()}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the REST API and the OAuth token endpoint live (no trailing slash).

    Attributes:
        api_base: ``https://api.{domain}`` or the configured base URL.
        login_base: ``https://login.{domain}``; for a base URL, the same URL with a leading
            ``api.`` host label replaced by ``login.`` (what the official SDKs do), otherwise the
            base URL itself (a simulator serves both).
        region: The region key, or None for a custom base URL.
    """

    api_base: str
    login_base: str
    region: str | None = None

    @property
    def token_url(self) -> str:
        """The OAuth client-credentials token endpoint."""
        return f"{self.login_base}/oauth/token"


def resolve_region(name: str) -> str:
    """Return the region key for a key, an AWS-style name or a domain.

    Accepts ``us_east_1``, ``us-east-1``, ``mypurecloud.com``, ``api.mypurecloud.com`` and
    ``login.mypurecloud.com`` (case-insensitive).

    Raises:
        ConfigError: On a name that is not in the official table (the message lists the keys).
    """
    text = name.strip().lower().rstrip("/")
    if "://" in text:
        text = urlsplit(text).hostname or ""
    key = text.replace("-", "_")
    if key in REGIONS:
        return key
    for prefix in ("api.", "login."):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if text in _BY_DOMAIN:
        return _BY_DOMAIN[text]
    known = ", ".join(k.replace("_", "-") for k in REGIONS)
    raise ConfigError(
        f"unknown Genesys Cloud region {name!r}; use one of: {known} (or set base_url)", field="region"
    )


def endpoints_for(*, region: str | None = None, base_url: str | None = None) -> Endpoints:
    """Return the endpoints for a region or for an explicit base URL (the base URL wins).

    Raises:
        ConfigError: If neither is given, the region is unknown, or the base URL is not http(s).
    """
    if base_url:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(f"base_url must be an http(s) URL, got {base_url!r}", field="base_url")
        api = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        host = parts.hostname or ""
        login = api.replace("//api.", "//login.", 1) if host.startswith("api.") else api
        key = _BY_DOMAIN.get(host[4:]) if host.startswith("api.") else None
        return Endpoints(api_base=api, login_base=login, region=key)
    if not region:
        raise ConfigError("set a Genesys Cloud region or a base_url", field="region")
    key = resolve_region(region)
    domain = REGIONS[key]
    return Endpoints(api_base=f"https://api.{domain}", login_base=f"https://login.{domain}", region=key)

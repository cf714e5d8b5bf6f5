"""URL parsing for the two URLs the client trusts: the control plane's, and the proxy's.

The workspace token may only ever be sent to the control plane. The proxy base URL comes from
the control plane's answer, so before the agent is pointed at it (with the token as its key),
its origin — scheme, host, port — must be the control plane's, with no userinfo.

Parsers disagree about odd URLs (backslashes, percent-encoded hosts, numeric IPv4 forms,
Unicode hosts). So this module refuses what it cannot read unambiguously and, once a URL
passes, hands the agent the canonical URL it checked rather than the string it received.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from agent_client.errors import ResponseInvalid

DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_URL_CHARS = 2048
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# WHATWG parsers read a host whose last label is numeric as an IPv4 address ("127.1",
# "0x7f.1", "2130706433"); only the dotted-decimal form is unambiguous.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_PATH = re.compile(r"^(?:/[\x21-\x7e]*)?$")


class URLRefused(ResponseInvalid):
    """A URL the client will not use. The message names the reason, never the URL's secrets."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # canonical: lowercase ASCII (IDNA), no trailing dot, IPv6 in brackets
    port: int

    def __str__(self) -> str:
        if DEFAULT_PORTS[self.scheme] == self.port:
            return f"{self.scheme}://{self.host}"
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class ParsedURL:
    origin: Origin
    path: str  # "" or "/…", without a trailing slash

    def __str__(self) -> str:
        return f"{self.origin}{self.path}"

    def join(self, path: str) -> str:
        return f"{self.path}{path}"


def parse_url(url: object, *, what: str) -> ParsedURL:
    """Parse an http(s) URL strictly, or raise URLRefused saying why."""
    if not isinstance(url, str) or not url:
        raise URLRefused(f"{what} is not a URL")
    if len(url) > _MAX_URL_CHARS:
        raise URLRefused(f"{what} is too long")
    if any(ord(ch) < 0x21 or ch in "\x7f\\" for ch in url):
        raise URLRefused(f"{what} contains spaces, control characters or backslashes")
    if "?" in url or "#" in url:
        raise URLRefused(f"{what} has a query or a fragment")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise URLRefused(f"{what} cannot be parsed") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise URLRefused(f"{what} is not an http or https URL")
    if "@" in parts.netloc:
        raise URLRefused(f"{what} contains userinfo (user:password@)")
    host = _canonical_host(parts.netloc, what=what)
    try:
        port = parts.port
    except ValueError:
        raise URLRefused(f"{what} has an invalid port") from None
    if parts.netloc.endswith(":"):
        raise URLRefused(f"{what} has an empty port")
    path = parts.path.rstrip("/")
    if not _PATH.match(path):
        raise URLRefused(f"{what} has a path with characters outside printable ASCII")
    return ParsedURL(
        origin=Origin(parts.scheme, host, DEFAULT_PORTS[parts.scheme] if port is None else port),
        path=path,
    )


def _canonical_host(netloc: str, *, what: str) -> str:
    if netloc.startswith("["):
        literal, _, _rest = netloc[1:].partition("]")
        try:
            address = ipaddress.IPv6Address(literal)
        except ValueError:
            raise URLRefused(f"{what} has an invalid IPv6 address") from None
        if address.scope_id:
            raise URLRefused(f"{what} has an IPv6 zone")
        return f"[{address.compressed}]"

    host = netloc.rpartition(":")[0] if ":" in netloc else netloc
    if "%" in host:
        raise URLRefused(f"{what} has a percent-encoded host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise URLRefused(f"{what} has a host that is not a valid domain name") from None
    # A trailing dot names the same DNS host ("api.example.com." is fully qualified).
    host = host.lower().removesuffix(".")
    if not host:
        raise URLRefused(f"{what} has no host")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise URLRefused(f"{what} has a host that is not a valid domain name")
    if _NUMERIC_LABEL.match(labels[-1]):
        try:
            canonical = str(ipaddress.IPv4Address(host))
        except ValueError:
            canonical = ""
        if canonical != host:
            raise URLRefused(f"{what} has an IPv4 address in a non-standard form")
    return host


def same_origin_url(base_url: object, control_plane: Origin) -> str:
    """The canonical form of `base_url` if it has the control plane's origin, else URLRefused."""
    what = "inferenceConfig.baseURL"
    parsed = parse_url(base_url, what=what)
    origin = parsed.origin
    differs = [
        part
        for part, ours, theirs in (
            ("scheme", control_plane.scheme, origin.scheme),
            ("host", control_plane.host, origin.host),
            ("port", control_plane.port, origin.port),
        )
        if ours != theirs
    ]
    if differs:
        verb = "differs" if len(differs) == 1 else "differ"
        raise URLRefused(
            f"{what} points at {origin}, not at the control plane ({control_plane}): its "
            f"{' and '.join(differs)} {verb}; the workspace token is not sent there"
        )
    return str(parsed)

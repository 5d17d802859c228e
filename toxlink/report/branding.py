"""Who the report is for: the client's name and logo on its first page (:class:`Branding`)."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path

#: A logo bigger than this is refused: it is copied into every report, and a report is mailed.
MAX_LOGO_BYTES = 2 << 20
# The first bytes that tell an image's type; SVG is text, recognised by its <svg> root element
# (after an optional XML declaration, comments and a doctype).
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
_URI_RE = re.compile(r"data:(image/(?:png|jpeg|svg\+xml));base64,([A-Za-z0-9+/]*={0,2})")
_SVG_RE = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.S | re.I)


class LogoError(ValueError):
    """The logo file is not a PNG, JPEG or SVG image; ``str()`` names the file."""


@dataclass(frozen=True)
class Branding:
    """The client's name and logo, shown on the report's first page.

    Attributes
    ----------
    client : str, optional
        The client's name, as text (HTML-escaped where shown).
    logo : str, optional
        The logo as a ``data:`` URI (PNG, JPEG or SVG), so the report stays one offline file.
        An SVG is shown through ``<img>``, where a browser runs none of its scripts.
    """

    client: str | None = None
    logo: str | None = None

    @classmethod
    def read(cls, client: str | None = None, logo: str | os.PathLike | None = None) -> "Branding":
        """The branding of *client* and the image file *logo* (either may be ``None``).

        Raises
        ------
        OSError
            The logo cannot be read (its ``filename`` is the path).
        LogoError
            The file is empty, too big (> :data:`MAX_LOGO_BYTES`) or not a PNG, JPEG or SVG.
        """
        client = client.strip() or None if client is not None else None
        if logo is None:
            return cls(client=client)
        path = Path(logo)
        data = path.read_bytes()
        if len(data) > MAX_LOGO_BYTES:
            raise LogoError(f"{path}: the logo is {len(data) / 2**20:.1f} MiB; use an image under "
                            f"{MAX_LOGO_BYTES >> 20} MiB")
        mime = logo_type(data)
        if mime is None:
            raise LogoError(f"{path}: not a PNG, JPEG or SVG image; give the client's logo as one of these")
        return cls(client=client, logo=f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")

    def to_json(self) -> dict:
        """The branding as a JSON object, ``{"client": str|None, "logo": str|None}``
        (:meth:`from_json` reads it back equal)."""
        return {"client": self.client, "logo": self.logo}

    @classmethod
    def from_json(cls, obj) -> "Branding":
        """The branding :meth:`to_json` wrote. A value that is not text is left out, and so
        is a logo that is not a PNG, JPEG or SVG ``data:`` URI of at most
        :data:`MAX_LOGO_BYTES`: the file it came from is a run's, which anyone may edit."""
        obj = obj if isinstance(obj, dict) else {}
        client, logo = obj.get("client"), obj.get("logo")
        client = client.strip() or None if isinstance(client, str) else None
        return cls(client=client, logo=logo if isinstance(logo, str) and _is_logo_uri(logo) else None)

    def with_defaults(self, saved: "Branding") -> "Branding":
        """This branding, a field it lacks taken from *saved* (a run's, given anew to override)."""
        return Branding(client=self.client or saved.client, logo=self.logo or saved.logo)


def _is_logo_uri(uri: str) -> bool:
    m = _URI_RE.fullmatch(uri)
    if not m or len(m.group(2)) > 4 * (MAX_LOGO_BYTES // 3 + 1):
        return False
    try:
        data = base64.b64decode(m.group(2), validate=True)
    except ValueError:
        return False
    return len(data) <= MAX_LOGO_BYTES and logo_type(data) == m.group(1)


def logo_type(data: bytes) -> str | None:
    """The MIME type of image *data* (``image/png``, ``image/jpeg``, ``image/svg+xml``),
    ``None`` when it is none of these. Decided by content, never by the file's name."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    head = data[:4096].removeprefix(b"\xef\xbb\xbf")
    return "image/svg+xml" if _SVG_RE.match(head) else None

"""The open pixel the tracker answers with."""

from __future__ import annotations

import base64

__all__ = ["PIXEL_CONTENT_TYPE", "TRANSPARENT_GIF"]

# A 1x1 transparent GIF89a: 42 bytes, the smallest image every mail client renders.
TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PIXEL_CONTENT_TYPE = "image/gif"

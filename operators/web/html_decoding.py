"""Bytes of a web page → text, using the declared charset when it works, else detection.

Order (as browsers and NeMo Curator's ``decode_html`` do): byte-order mark, the HTTP
``Content-Type`` charset, a ``<meta charset>`` / ``http-equiv`` declaration in the first 4 KiB, strict
UTF-8, then charset-normalizer's detection, then UTF-8 with replacement characters (never fails).
"""

from __future__ import annotations

import codecs
import re
from typing import Optional

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

# Labels that pages declare but mean a superset (WHATWG encoding standard).
_SUPERSETS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252",
              "gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "sjis": "cp932",
              "x-sjis": "cp932", "euc-kr": "cp949", "tis-620": "cp874", "iso-8859-9": "cp1254"}


def _codec(label: Optional[str]) -> Optional[str]:
    if not label:
        return None
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def charset_from_content_type(content_type: Optional[str]) -> Optional[str]:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def _try(data: bytes, codec: Optional[str]) -> Optional[str]:
    if codec is None:
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(data: bytes, content_type: Optional[str] = None) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _try(data, codec)
            if text is not None:
                return text
    for label in (charset_from_content_type(content_type), _meta_charset(data)):
        text = _try(data, _codec(label))
        if text is not None:
            return text
    text = _try(data, "utf-8")
    if text is not None:
        return text
    detected = _detect(data)
    if detected is not None:
        return detected
    return data.decode("utf-8", errors="replace")


def _meta_charset(data: bytes) -> Optional[str]:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii", errors="ignore") if match else None


def _detect(data: bytes) -> Optional[str]:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding is None:
        return None
    return data.decode(best.encoding, errors="replace")

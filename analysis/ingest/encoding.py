"""CSV bytes in any encoding seen in extracts (UTF-8 with or without BOM, UTF-16/32, GB18030, a mix) as UTF-8.

Excel on a Chinese Windows writes CSV in GB18030 (GBK); a system export writes UTF-8; a
file pasted together from both holds lines of each. The check is done at C speed and the
file is only decoded line by line where it has to be.
"""

from __future__ import annotations

import re

import numpy as np

#: Byte-order marks of UTF-32 and UTF-16 text (UTF-32 first: its little-endian mark starts like UTF-16's).
_WIDE_ENCODINGS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
WIDE_BOMS = tuple(bom for bom, _ in _WIDE_ENCODINGS)
_SCAN_STEP = 1 << 20  # bytes per step of a scan: small enough to stay in the CPU's cache
#: Bytes of UTF-8 validated at a time (cut at a line end), so memory stays flat on big files.
_VALIDATE_CHUNK = 1 << 24


def has_two_byte_leads(data: bytes) -> bool:
    """True when a byte 0xC4..0xDF occurs: in valid UTF-8, the lead of a character U+0100..U+07FF."""
    octets = np.frombuffer(data, dtype=np.uint8)
    shifted = np.empty(min(_SCAN_STEP, len(octets)), dtype=np.uint8)
    hits = np.empty(len(shifted), dtype=bool)
    for start in range(0, len(octets), _SCAN_STEP):
        part = octets[start : start + _SCAN_STEP]
        n = len(part)
        # 0xC4..0xDF + 0x3C wraps round to 0..27: one add and one compare per byte.
        np.add(part, np.uint8(0x3C), out=shifted[:n])
        np.less(shifted[:n], 28, out=hits[:n])
        if hits[:n].any():
            return True
    return False


def count_newlines(data: bytes) -> int:
    """Number of LF bytes, counted in cache-sized steps (faster than ``bytes.count`` here)."""
    octets = np.frombuffer(data, dtype=np.uint8)
    hits = np.empty(min(_SCAN_STEP, len(octets)), dtype=bool)
    total = 0
    for start in range(0, len(octets), _SCAN_STEP):
        part = octets[start : start + _SCAN_STEP]
        np.equal(part, 10, out=hits[: len(part)])
        total += int(np.count_nonzero(hits[: len(part)]))
    return total


def to_utf8(data: bytes, *, validate: bool = True) -> tuple[bytes, str, list[int]]:
    """CSV bytes as UTF-8 without BOM, the source encoding, and the lines re-decoded.

    Plain UTF-8 (the common case) is validated and returned as is, without
    building one large string. With ``validate=False`` the UTF-8 check is left
    to the caller (Arrow's CSV reader checks string columns as it reads).
    """
    label = "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        label = "utf-8-sig"
    for bom, wide in _WIDE_ENCODINGS:
        if data.startswith(bom):
            return data.decode(wide, errors="replace").lstrip("\ufeff").encode("utf-8"), wide, []
    valid, suspect = _utf8_facts(data, validate=validate)
    if valid and not suspect:
        return data, label, []
    if valid:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass  # not UTF-8 after all (it was not validated): decode line by line below
        else:
            text, label, odd = _redecode_gbk_lines(text, label)
            return (text.encode("utf-8") if odd else data), label, odd
    return _decode_line_by_line(data)


def _utf8_facts(data: bytes, *, validate: bool) -> tuple[bool, bool]:
    """Whether ``data`` is valid UTF-8 (assumed when not ``validate``) and whether it holds suspect two-byte characters.

    Arrow validates at C speed (casting binary to utf8), in line-aligned chunks so
    memory stays flat on big files.
    """
    import pyarrow as pa

    if not validate:
        return True, has_two_byte_leads(data)
    valid, suspect, start = True, False, 0
    while start < len(data) and valid:
        end = data.find(b"\n", start + _VALIDATE_CHUNK)
        end = len(data) if end < 0 else end + 1
        chunk = data[start:end]
        try:
            pa.array([chunk], type=pa.large_binary()).cast(pa.large_string())
        except pa.ArrowInvalid:
            valid = False
        suspect = suspect or has_two_byte_leads(chunk)
        start = end
    return valid, suspect


def _decode_line_by_line(data: bytes) -> tuple[bytes, str, list[int]]:
    """A file that is not UTF-8 as a whole: GB18030 throughout, or UTF-8 with some GB18030 lines."""
    lines = data.split(b"\n")
    utf8_lines = 0
    for line in lines:
        if max(line, default=0) < 0x80:
            continue
        try:
            line.decode("utf-8")
            utf8_lines += 1
        except UnicodeDecodeError:
            pass
    if utf8_lines == 0:
        return data.decode("gb18030", errors="replace").encode("utf-8"), "gb18030", []
    decoded: list[str] = []
    odd_lines: list[int] = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(line.decode("gb18030", errors="replace"))
            odd_lines.append(number)
    return "\n".join(decoded).encode("utf-8"), "mixed utf-8/gb18030", odd_lines


# Short GBK byte runs can also be valid UTF-8, decoding to Latin, IPA or Cyrillic letters
# (失效 → ʧЧ) that a Chinese policy extract never holds.
_SUSPECT = re.compile("[\u0100-\u07ff]")
_CJK = re.compile("[\u4e00-\u9fff]")


def _redecode_gbk_lines(text: str, label: str) -> tuple[str, str, list[int]]:
    """Valid UTF-8 whose suspect lines read as Chinese in GB18030: those lines re-decoded, and their numbers."""
    lines = text.split("\n")
    odd: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not _SUSPECT.search(line):
            continue
        try:
            other = line.encode("utf-8").decode("gb18030")
        except UnicodeDecodeError:
            continue
        if _CJK.search(other) and not _SUSPECT.search(other):
            lines[number - 1] = other
            odd.append(number)
    if not odd:
        return text, label, []
    return "\n".join(lines), "mixed utf-8/gb18030", odd

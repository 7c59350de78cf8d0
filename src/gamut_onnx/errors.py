"""One exception type for every user-facing failure, so the CLI can print one line and exit 1."""


class GamutError(Exception):
    """A problem with the user's input or environment, phrased for a one-line error message."""


def library_detail(exc: BaseException, limit: int = 120) -> str:
    """What a decoding library said, fit for a one-line message: its first line, printable
    characters only, without object addresses, at most `limit` characters."""
    import re

    text = (str(exc).strip().splitlines() or [""])[0]
    text = re.sub(r"<[\w.]+ object at 0x[0-9a-fA-F]+>", "the file", text)
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return (text or type(exc).__name__)[:limit]


def one_line(text: str, limit: int = 400) -> str:
    """A message as one printable line of at most `limit` characters (file bytes that reach a
    message can hold control characters or be long)."""
    text = " ".join(str(text).split())
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."

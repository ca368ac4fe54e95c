# check: check_close_markdown(close_markdown)
import re

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def close_markdown(text):
    """text plus the closers of whatever a half-streamed answer left open (display only)."""
    fence = None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if m and fence is None:
            fence = m.group(1)
        elif m and fence is not None and m.group(1)[0] == fence[0] and not line.strip(" `~"):
            fence = None
    if fence is not None:  # inside a code block: close it, nothing else applies
        return text + ("" if text.endswith("\n") else "\n") + fence
    body = re.sub(r"[*_`~]+\Z", "", text)  # a bare marker at the very end: hide it
    para = body[body.rfind("\n\n") + 2:] if "\n\n" in body else body
    closers = ""
    if para.count("`") % 2:
        closers += "`"
    plain = re.sub(r"`[^`]*`", "", para + closers)  # stars in code spans do not count
    plain = re.sub(r"(?m)^\s*[*+-]\s", "", plain)  # nor do list bullets
    singles = len(re.findall(r"(?<!\*)\*(?!\*)", plain))
    if singles % 2:
        closers += "*"
    if plain.count("**") % 2:
        closers += "**"
    return body.rstrip(" ") + closers if closers else body

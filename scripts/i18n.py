"""The message catalogue's housekeeping.

    python scripts/i18n.py check          # every message translated? (the tests ask the same)
    python scripts/i18n.py sync [AREA..]  # add new messages, untranslated, to their .po files

Areas are the file names in sse_lab/i18n/locale/zh_CN/LC_MESSAGES/: core, plots, widgets,
exercises, nb00 ... nb10.
"""

import sys

from sse_lab.i18n.catalogue import problems, sync

if __name__ == "__main__":
    command, *areas = sys.argv[1:] or ["check"]
    if command == "sync":
        for line in sync(areas or None):
            print(line)
    found = problems()
    for line in found:
        print(line)
    print(f"{len(found)} problem(s) in the zh-CN catalogue")
    sys.exit(1 if found and command == "check" else 0)

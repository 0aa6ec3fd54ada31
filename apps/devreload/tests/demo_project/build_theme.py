"""A stand-in stylesheet compiler: styles/theme.txt ("property: value" lines) -> static/css/theme.css."""

from __future__ import annotations

import sys
from pathlib import Path

here = Path(__file__).parent
declarations = []
for number, line in enumerate((here / "styles" / "theme.txt").read_text().splitlines(), start=1):
    if not line.strip():
        continue
    name, colon, value = line.partition(":")
    if not colon or not name.strip() or not value.strip():
        print(f"theme.txt line {number}: expected 'property: value', got {line!r}")
        sys.exit(1)
    declarations.append(f"  {name.strip()}: {value.strip()};")
(here / "static" / "css" / "theme.css").write_text("#theme {\n" + "\n".join(declarations) + "\n}\n")
print(f"built theme.css ({len(declarations)} declarations)")

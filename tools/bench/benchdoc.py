"""Writes one `## <name>` section of docs/benchmarks.md in place (or appends it), leaving the others alone.
Shared by every tools/bench/<name>.sh so that each benchmark refreshes only its own rows."""
import pathlib
import re


def write_section(name: str, section: str, doc: str = "docs/benchmarks.md") -> None:
    p = pathlib.Path(doc)
    text = p.read_text() if p.exists() else "# Benchmarks\n\n"
    section = section.rstrip("\n") + "\n\n"
    m = re.search(r"^## %s\n.*?(?=^## |\Z)" % re.escape(name), text, flags=re.S | re.M)
    text = text[:m.start()] + section + text[m.end():] if m else text.rstrip("\n") + "\n\n" + section
    p.write_text(text.rstrip("\n") + "\n")
    print(section)

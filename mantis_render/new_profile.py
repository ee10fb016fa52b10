"""A new environment's profile from an existing one: same settings, its own names."""

from __future__ import annotations

import re

MODELINE = "# yaml-language-server:"


def profile_from(text: str, source: str, name: str) -> str:
    """``text`` (the source environment's own profile) with every name of ``source`` in a value
    (hosts, databases, buckets, consumer groups, Vault paths like mantis/<env>/...) made ``name``.

    Comment lines are kept as written; a first line says where the profile came from.
    """
    word = re.compile(rf"(?<![A-Za-z0-9]){re.escape(source)}(?![A-Za-z0-9])")
    lines = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("#") or line.startswith("tier:"):  # a tier is not a name
            lines.append(line)
        else:
            code, hash_, comment = line.partition(" #")
            lines.append(word.sub(name, code) + hash_ + comment)
    created = (
        f"# Created from profiles/{source}.yaml by `mantis-render new {name} --from {source}`.\n"
    )
    first = 1 if lines and lines[0].startswith(MODELINE) else 0  # the editor's modeline stays first
    return "".join(lines[:first]) + created + "".join(lines[first:])

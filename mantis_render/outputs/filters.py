"""Jinja2 filters that write a value so that its reader gets back exactly that value."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..profiles.variables import as_text


class UnrepresentableValue(ValueError):
    """No spelling of the value is read back identically by every reader of the format."""

    def __init__(self, what: str, why: str) -> None:
        self.what, self.why = what, why
        super().__init__(f"contains {what}, which {why}")


# bash, python-dotenv and docker compose (compose-go) read a .env; where they disagree, refuse.
_NEVER_IN_DOTENV = {
    "\x00": ("a NUL character (U+0000)", "no environment variable can hold"),
    "\r": ("a carriage return (U+000D)", "python-dotenv reads as a line feed"),
}
# A lone surrogate (from a JSON "\ud800" escape, or an undecodable byte in an environment
# variable) is not a character UTF-8 can encode: no output file can hold it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _refuse_surrogates(text: str) -> None:
    found = _SURROGATE.search(text)
    if found:
        raise UnrepresentableValue(
            f"a lone surrogate (U+{ord(found.group()):04X})", "no UTF-8 file can hold"
        )


# Inside double quotes bash expands $ and `; python-dotenv does not, and keeps a backslash before
# them, so no escape is read alike. (`!` is safe: history expansion skips sourced files.)
_EXPANDED_IN_DOUBLE_QUOTES = re.compile(r"[$`]")


def quote_dotenv(value: str) -> str:
    """Quote ``value`` for a .env line that bash, python-dotenv and docker compose read alike.

    Single quotes are literal for all three, except that python-dotenv unescapes ``\\\\`` and
    ``\\'`` inside them; double quotes serve the values single quotes cannot hold.
    """
    for character, (what, why) in _NEVER_IN_DOTENV.items():
        if character in value:
            raise UnrepresentableValue(what, f"{why} it")
    _refuse_surrogates(value)
    if "${" in value:
        # python-dotenv expands ${NAME} inside single quotes too, and has no escape for it.
        raise UnrepresentableValue("'${'", "python-dotenv expands as a variable in any quotes")
    if "'" not in value and "\\\\" not in value and not value.endswith("\\"):
        return f"'{value}'"
    if not _EXPANDED_IN_DOUBLE_QUOTES.search(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    needs = "a single quote" if "'" in value else "a backslash sequence python-dotenv unescapes"
    found = _EXPANDED_IN_DOUBLE_QUOTES.search(value)
    assert found is not None
    raise UnrepresentableValue(
        f"{needs} and {found.group()!r}",
        "no quoting style of bash, python-dotenv and docker compose reads alike",
    )


# YAML double-quoted scalars may hold any printable character as is; the rest is escaped: the C0
# and C1 controls, '"', '\\', surrogates, U+FEFF, U+FFFE and U+FFFF. PyYAML (YAML 1.1) also breaks
# lines at U+0085, U+2028 and U+2029, so those are escaped too. (Listed as the characters to
# escape: the same class written as its complement takes 8 times as long to compile.)
_YAML_UNSAFE = re.compile(r'[\x00-\x1f"\\\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]')
# kubectl kustomize (go-yaml) rejects DEL, the C1 controls, U+FFFE and U+FFFF even escaped,
# and turns U+0085 into a space.
_YAML_REFUSED = re.compile(r"[\x7f-\x9f\ufffe\uffff]")
_YAML_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def _yaml_escape(match: re.Match[str]) -> str:
    character = match.group()
    if character in _YAML_NAMED_ESCAPES:
        return _YAML_NAMED_ESCAPES[character]
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def quote_yaml(value: Any) -> str:
    """A YAML double-quoted string that every YAML parser reads as exactly ``str(value)``.

    Always quoting keeps ``no``, ``on``, ``0123`` and ``1e3`` strings, as ConfigMap data must be.
    """
    text = as_text(value)
    _refuse_surrogates(text)
    refused = _YAML_REFUSED.search(text)
    if refused:
        character = f"the control character U+{ord(refused.group()):04X}"
        raise UnrepresentableValue(character, "kubectl cannot carry through YAML unchanged")
    return '"' + _YAML_UNSAFE.sub(_yaml_escape, text) + '"'


# Found by fuzzing kubectl kustomize: its generator writes a value holding a line feed as a YAML
# literal block, and when the value's first character is a tab it cannot read that block back
# (go-yaml omits the indentation indicator a tab needs). Values the emitter writes double-quoted
# instead build fine: those holding a control character other than tab and line feed, a BOM, a
# character past U+FFFF, a space before a line break, or ending in a space.
_KUSTOMIZE_FAILS = re.compile(
    r"\t(?=.*\n)(?!.*[\x00-\x08\x0b-\x1f\ufeff\U00010000-\U0010ffff])"
    r"(?!.* [\n\r\x85\u2028\u2029])(?!.* \Z)",
    re.DOTALL,
)


def quote_compose(value: Any) -> str:
    """A value of a compose file's environment: docker compose interpolates ``$`` there, so
    each one is doubled (``$$`` is one ``$``), then written as quote_yaml writes it."""
    return quote_yaml(as_text(value).replace("$", "$$"))


def quote_kustomize_literal(value: Any, name: str) -> str:
    """A configMapGenerator literal ``NAME=value``, as a YAML string kustomize reads back exactly.

    kustomize strips one pair of matching quotes around a literal's value, so a value that is
    itself wrapped in matching quotes gets one more pair to lose.
    """
    text = as_text(value)
    if _KUSTOMIZE_FAILS.match(text):
        raise UnrepresentableValue(
            "a tab at its start and a line feed",
            "kubectl kustomize cannot build into a ConfigMap (its generator fails on it)",
        )
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = f"'{text}'"
    return quote_yaml(f"{name}={text}")


def pem_text(value: str) -> str:
    """A PEM file's text, its trailing line feeds dropped (the template ends it with one)."""
    _refuse_surrogates(value)
    return value.rstrip("\n")


FILTERS: dict[str, Callable[..., str]] = {
    "pem": pem_text,
    "dotenv": quote_dotenv,
    "yaml": quote_yaml,
    "compose": quote_compose,
    "kustomize_literal": quote_kustomize_literal,
}

"""The words of each mail: a subject, a text part and an HTML part per mail and language,
from Jinja templates an operator can override.

A mail named ``password_reset`` in language ``pt-BR`` is made of ``password_reset.subject``,
``password_reset.txt`` and ``password_reset.html``, looked up in ``pt-BR/``, then ``pt/``,
then ``en/`` (the language shipped), first in ``MAIL_TEMPLATES_DIR`` (when set) and then in
the templates shipped beside this module. An operator overrides one part of one mail by
putting only that file in their folder. HTML parts are autoescaped.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache
from jinja2 import ChoiceLoader
from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import TemplateNotFound
from jinja2 import select_autoescape
from jinja2.bccache import Bucket

from app.core.configuration import ConfigurationError

DEFAULT_LANGUAGE = "en"
SHIPPED = Path(__file__).parent / "templates"
PARTS = ("subject", "txt", "html")
MAX_LOCALE_LENGTH = 35


class _CompiledOncePerProcess(BytecodeCache):
    """Each template's compiled code, kept for every environment of this process that
    compiles it again (an app built anew, as the tests build thousands). Jinja keys it by
    the template's name and file and checks it against the source, so a changed template
    compiles afresh; every environment here is made with the same options."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledOncePerProcess()


@dataclass(frozen=True)
class Words:
    subject: str
    text: str
    html: str


class MailTemplates:
    def __init__(self, override_dir: str = "") -> None:
        folders = [str(SHIPPED)]
        if override_dir:
            if not Path(override_dir).is_dir():
                raise ConfigurationError(f"MAIL_TEMPLATES_DIR={override_dir} is not a folder")
            folders.insert(0, override_dir)
        self._environment = Environment(
            loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            bytecode_cache=_COMPILED,
        )

    def render(self, name: str, *, locale: str | None, context: dict[str, Any]) -> Words:
        language = self.language_for(name, locale)
        parts = {
            part: self._environment.get_template(f"{language}/{name}.{part}").render(context)
            for part in PARTS
        }
        return Words(
            subject=" ".join(parts["subject"].split()), text=parts["txt"], html=parts["html"]
        )

    def language_for(self, name: str, locale: str | None) -> str:
        """The first of the locale, its language and the default that has this mail."""
        for language in candidate_languages(locale):
            try:
                self._environment.get_template(f"{language}/{name}.txt")
            except TemplateNotFound:
                continue
            return language
        raise TemplateNotFound(f"{DEFAULT_LANGUAGE}/{name}.txt")

    def check(self) -> None:
        """Refuse to start when a part of a shipped mail, or of an operator's version of it,
        does not parse."""
        for name in shipped_names():
            for part in PARTS:
                try:
                    self._environment.get_template(f"{DEFAULT_LANGUAGE}/{name}.{part}")
                except Exception as error:
                    raise ConfigurationError(
                        f"mail template {DEFAULT_LANGUAGE}/{name}.{part}: {error}"
                    ) from error


def shipped_names() -> list[str]:
    return sorted(path.stem for path in (SHIPPED / DEFAULT_LANGUAGE).glob("[!_]*.txt"))


def candidate_languages(locale: str | None) -> list[str]:
    """``pt-BR`` -> ``pt-BR``, ``pt``, then the default."""
    tag = normalize_locale(locale)
    if tag is None:
        return [DEFAULT_LANGUAGE]
    base = tag.split("-")[0]
    return list(dict.fromkeys([tag, base, DEFAULT_LANGUAGE]))


def normalize_locale(locale: str | None) -> str | None:
    """A language tag in BCP 47's casing (``pt_br`` -> ``pt-BR``); None for anything that is
    not letters, digits and dashes of a tag's length (``*``, a path)."""
    parts = (locale or "").replace("_", "-").strip().split("-")
    if not parts[0] or len(parts[0]) > 8 or len("-".join(parts)) > MAX_LOCALE_LENGTH:
        return None
    if not all(part and part.isalnum() and part.isascii() for part in parts):
        return None
    return "-".join([parts[0].lower(), *(_subtag(part) for part in parts[1:])])


def _subtag(part: str) -> str:
    """BCP 47's casing: regions upper case (BR), scripts title case (Hant)."""
    if len(part) == 2 or (len(part) == 3 and part.isdigit()):
        return part.upper()
    return part.title() if len(part) == 4 else part.lower()

"""The second-layer transparency notice (GDPR Art. 12-13; EDPB Guidelines 3/2019 paras 110-117).

Served without login at `GET /public/sites/{site}/notice`, in English plus the site's own language.
The text lives in editable templates next to this module (`en.json`, `lv.json`, `lt.json`), each:

    {"day_forms": {CLDR plural category: noun}, "supervisory_authority": {country: sentence},
     "sections": {section: text with {placeholders}}}

Placeholders (all filled from the site's current record, so retention is always the live policy):
{site_name}, {controller}, {dpo_contact}, {legal_basis}, {retention_days}, {max_retention_days},
{retention_period} and {max_retention_period} (the number with the word "days" in the right grammatical
form, nominative), {supervisory_authority} (the complaint sentence for the site's country).
A literal brace is written `{{` or `}}`. A placeholder without a value is an error, never a blank or a "{x}".
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from pydantic import Field

from chalicelib.domain.catalog import Site
from chalicelib.model import Model

LANGUAGES: tuple[str, ...] = ("en", "lv", "lt")
"""Languages with a template; the notice's first language is always English."""

_COUNTRY_LANGUAGE: Mapping[str, str] = MappingProxyType({"LV": "lv", "LT": "lt"})
_FORMATTER = string.Formatter()


class NoticeError(ValueError):
    """A notice that cannot be rendered correctly."""


class UnknownLanguageError(NoticeError):
    def __init__(self, language: str) -> None:
        super().__init__(f"no notice template for language {language!r}; known: {', '.join(LANGUAGES)}")
        self.language = language


class NoticeTemplateError(NoticeError):
    """A template file that is malformed (bad JSON shape, unbalanced braces, a non-simple placeholder)."""


class MissingPlaceholderError(NoticeError):
    """A placeholder in a template that has no value for this site."""

    def __init__(self, placeholder: str, *, where: str) -> None:
        super().__init__(f"{where} uses {{{placeholder}}}, but there is no value for it")
        self.placeholder = placeholder
        self.where = where


@dataclass(frozen=True)
class NoticeTemplate:
    language: str
    sections: Mapping[str, str]
    supervisory_authority: Mapping[str, str]
    day_forms: Mapping[str, str]


def notice_languages(site: Site) -> list[str]:
    """English, plus the site's own language where there is a template for it."""
    local = _COUNTRY_LANGUAGE.get(site.country)
    return ["en", local] if local else ["en"]


def render_notice(site: Site, language: str) -> dict[str, str]:
    """The notice's sections for `site` in `language`, every placeholder filled from the site's record."""
    template = load_template(language)
    values = notice_values(site, template)
    where = f"notice template {language!r} for site {site.site_id!r} (country {site.country})"
    return {
        section: fill_template(text, values, where=f"{where}, section {section!r}")
        for section, text in template.sections.items()
    }


class PublicNotice(Model):
    """The body of `GET /public/sites/{site}/notice`."""

    site: str
    languages: dict[str, dict[str, str]] = Field(description="per language code, the notice's sections")
    retention_days: int
    controller: str
    dpo_contact: str


def public_notice(site: Site) -> PublicNotice:
    return PublicNotice(
        site=site.site_id,
        languages={language: render_notice(site, language) for language in notice_languages(site)},
        retention_days=site.retention_days,
        controller=site.controller,
        dpo_contact=site.dpo_contact,
    )


def notice_values(site: Site, template: NoticeTemplate) -> dict[str, str]:
    """The placeholder values for one site in one language; blank site fields are left out (so they fail)."""
    values = {
        "site_name": site.name,
        "controller": site.controller,
        "dpo_contact": site.dpo_contact,
        "legal_basis": site.legal_basis,
        "retention_days": str(site.retention_days),
        "max_retention_days": str(site.max_retention_days),
        "retention_period": days_phrase(site.retention_days, template),
        "max_retention_period": days_phrase(site.max_retention_days, template),
        "supervisory_authority": template.supervisory_authority.get(site.country, ""),
    }
    return {name: value for name, value in values.items() if value.strip()}


def fill_template(text: str, values: Mapping[str, str], *, where: str = "notice template") -> str:
    """`text` with each `{name}` replaced by `values[name]`; only plain names, no attributes or formats."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise NoticeTemplateError(f"{where}: {exc} (write a literal brace as '{{{{' or '}}}}')") from exc
    parts: list[str] = []
    for literal, name, format_spec, conversion in parsed:
        parts.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or format_spec or conversion:
            raise NoticeTemplateError(f"{where}: placeholder {{{name}}} must be a plain name like {{site_name}}")
        if name not in values:
            raise MissingPlaceholderError(name, where=where)
        parts.append(values[name])
    return "".join(parts)


def days_phrase(days: int, template: NoticeTemplate) -> str:
    """`days` with the noun "day" in the template language's plural form, e.g. "7 dienos", "21 diena"."""
    category = plural_category(template.language, days)
    word = template.day_forms.get(category) or template.day_forms["other"]
    return f"{days} {word}"


def plural_category(language: str, n: int) -> str:
    """The CLDR plural category of a whole number (the cases the notice's languages need)."""
    last, last_two = n % 10, n % 100
    teen = 11 <= last_two <= 19
    if language == "lv":
        if last == 0 or teen:
            return "zero"
        return "one" if last == 1 else "other"
    if language == "lt":
        if teen:
            return "other"
        if last == 1:
            return "one"
        return "few" if last >= 2 else "other"
    return "one" if n == 1 else "other"


def load_template(language: str) -> NoticeTemplate:
    """The template for `language`, read once; an unknown language is a ValueError."""
    if language not in LANGUAGES:
        raise UnknownLanguageError(language)
    return _read_template(language)


@functools.cache
def _read_template(language: str) -> NoticeTemplate:
    name = f"{language}.json"
    raw = json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise NoticeTemplateError(f"{name}: expected a JSON object")
    return NoticeTemplate(
        language=language,
        sections=_text_table(raw, "sections", name),
        supervisory_authority=_text_table(raw, "supervisory_authority", name),
        day_forms=_text_table(raw, "day_forms", name, required=("other",)),
    )


def _text_table(raw: dict[str, Any], key: str, name: str, required: tuple[str, ...] = ()) -> Mapping[str, str]:
    table = raw.get(key)
    if not isinstance(table, dict) or not table:
        raise NoticeTemplateError(f"{name}: {key!r} must be a non-empty object of texts")
    for entry, text in table.items():
        if not isinstance(text, str) or not text.strip():
            raise NoticeTemplateError(f"{name}: {key}.{entry} must be a non-empty text")
    for entry in required:
        if entry not in table:
            raise NoticeTemplateError(f"{name}: {key} needs {entry!r}")
    return MappingProxyType(dict(table))

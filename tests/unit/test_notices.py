"""The public transparency notice: templates, placeholders, languages, live retention (chalicelib.notices)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from chalicelib.domain.catalog import Site
from chalicelib.notices import (
    LANGUAGES,
    MissingPlaceholderError,
    NoticeTemplateError,
    days_phrase,
    fill_template,
    load_template,
    notice_languages,
    public_notice,
    render_notice,
)
from local.demo import demo_sites

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_SECTIONS = {
    "title",
    "controller",
    "dpo",
    "purposes",
    "legal_basis",
    "recipients",
    "retention",
    "rights",
    "automated_decisions",
    "security",
}


SITES = demo_sites()
AIZKRAUKLE = SITES["aizkraukle"]
BIRZAI = SITES["birzai"]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- templates ---------------------------------------------------------------------------------------------


def test_every_language_has_the_same_sections_in_the_same_order() -> None:
    english = list(load_template("en").sections)
    assert set(english) >= REQUIRED_SECTIONS
    for language in LANGUAGES:
        assert list(load_template(language).sections) == english, language


def test_every_language_names_an_authority_for_the_same_countries() -> None:
    for language in LANGUAGES:
        assert set(load_template(language).supervisory_authority) == {"LV", "LT"}, language


def test_every_language_uses_the_same_placeholders_per_section() -> None:
    english = load_template("en").sections
    for language in LANGUAGES:
        for section, text in load_template(language).sections.items():
            assert placeholders(text) == placeholders(english[section]), (language, section)


def test_templates_are_packaged_next_to_the_module() -> None:
    package = ROOT / "chalicelib" / "notices"
    for language in LANGUAGES:
        assert (package / f"{language}.json").is_file()


def test_local_texts_keep_to_their_own_alphabet() -> None:
    """A cheap guard against mixing up the two languages' letters while editing."""
    lithuanian_only, latvian_only = set("ąęėįųĄĘĖĮŲ"), set("āēīģķļņĀĒĪĢĶĻŅ")
    lv_text = "".join(load_template("lv").sections.values())
    lt_text = "".join(load_template("lt").sections.values())
    assert not lithuanian_only & set(lv_text)
    assert not latvian_only & set(lt_text)
    assert set("āēīšūž") <= set(lv_text)
    assert set("ąčęėįšųūž") <= set(lt_text)


# --- rendering ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("site", SITES.values(), ids=SITES.keys())
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_placeholder_is_filled_for_the_demo_sites(site: Site, language: str) -> None:
    sections = render_notice(site, language)
    assert set(sections) == set(load_template(language).sections)
    for section, text in sections.items():
        assert text.strip(), section
        assert "{" not in text, (section, text)
        assert "}" not in text, (section, text)
    assert site.name in sections["title"]
    assert site.controller in sections["controller"]
    assert site.dpo_contact in sections["dpo"]
    assert site.dpo_contact in sections["rights"]
    assert site.legal_basis in sections["legal_basis"]


def test_lv_site_is_in_english_and_latvian() -> None:
    assert notice_languages(AIZKRAUKLE) == ["en", "lv"]
    assert list(public_notice(AIZKRAUKLE).languages) == ["en", "lv"]


def test_lt_site_is_in_english_and_lithuanian() -> None:
    assert notice_languages(BIRZAI) == ["en", "lt"]
    assert list(public_notice(BIRZAI).languages) == ["en", "lt"]


def test_other_countries_get_english_only() -> None:
    estonian = AIZKRAUKLE.model_copy(update={"site_id": "valga", "country": "EE"})
    assert notice_languages(estonian) == ["en"]


def test_public_notice_body() -> None:
    body = public_notice(AIZKRAUKLE)
    assert body.site == "aizkraukle"
    assert body.retention_days == AIZKRAUKLE.retention_days
    assert body.controller == AIZKRAUKLE.controller
    assert body.dpo_contact == AIZKRAUKLE.dpo_contact
    assert body.languages["lv"] == render_notice(AIZKRAUKLE, "lv")


@pytest.mark.parametrize(
    ("language", "days", "phrase"),
    [("en", 7, "7 days"), ("lv", 7, "7 dienas"), ("lt", 7, "7 dienos"), ("lt", 14, "14 dienų")],
)
def test_retention_shown_is_the_sites_current_policy(language: str, days: int, phrase: str) -> None:
    before = render_notice(AIZKRAUKLE, language)
    changed = AIZKRAUKLE.model_copy(update={"retention_days": days})
    after = render_notice(changed, language)
    assert phrase in after["retention"]
    assert phrase in after["rights"]  # "ask soon: footage is deleted after ..."
    assert public_notice(changed).retention_days == days
    if days != AIZKRAUKLE.retention_days:
        assert after["retention"] != before["retention"]


def test_a_changed_policy_shows_at_once() -> None:
    """Templates are cached, the values are not: the same process shows a new policy."""
    assert "7 days" in render_notice(AIZKRAUKLE, "en")["retention"]
    shorter = AIZKRAUKLE.model_copy(update={"retention_days": 3, "max_retention_days": 90})
    text = render_notice(shorter, "en")["retention"]
    assert "3 days" in text
    assert "90 days" in text
    assert "7 days" not in text


@pytest.mark.parametrize(
    ("language", "days", "phrase"),
    [
        ("en", 1, "1 day"),
        ("en", 21, "21 days"),
        ("lv", 1, "1 diena"),
        ("lv", 11, "11 dienas"),
        ("lv", 21, "21 diena"),
        ("lv", 30, "30 dienas"),
        ("lt", 1, "1 diena"),
        ("lt", 3, "3 dienos"),
        ("lt", 10, "10 dienų"),
        ("lt", 11, "11 dienų"),
        ("lt", 21, "21 diena"),
        ("lt", 22, "22 dienos"),
        ("lt", 30, "30 dienų"),
        ("lt", 111, "111 dienų"),
    ],
)
def test_days_agree_with_the_number(language: str, days: int, phrase: str) -> None:
    assert days_phrase(days, load_template(language)) == phrase


# --- the complaint authority -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "lv"])
def test_lv_site_names_the_latvian_authority(language: str) -> None:
    rights = render_notice(AIZKRAUKLE, language)["rights"]
    assert "Datu valsts inspekcij" in rights
    assert "www.dvi.gov.lv" in rights
    assert "vdai.lrv.lt" not in rights


@pytest.mark.parametrize("language", ["en", "lt"])
def test_lt_site_names_the_lithuanian_authority(language: str) -> None:
    rights = render_notice(BIRZAI, language)["rights"]
    assert "vdai.lrv.lt" in rights
    assert "dvi.gov.lv" not in rights
    if language == "en":
        assert "Valstybinė duomenų apsaugos inspekcija" in rights
    else:
        assert "Valstybinei duomenų apsaugos inspekcijai" in rights


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "EN", "", "../en", "en.json", "et"])
def test_unknown_language_is_a_value_error(language: str) -> None:
    with pytest.raises(ValueError, match="no notice template"):
        render_notice(AIZKRAUKLE, language)


def test_site_without_a_dpo_contact_is_refused_clearly() -> None:
    site = AIZKRAUKLE.model_copy(update={"dpo_contact": "  "})
    with pytest.raises(MissingPlaceholderError, match=r"\{dpo_contact\}") as caught:
        render_notice(site, "lv")
    assert caught.value.placeholder == "dpo_contact"
    assert "aizkraukle" in str(caught.value)


def test_country_without_an_authority_is_refused_clearly() -> None:
    estonian = AIZKRAUKLE.model_copy(update={"site_id": "valga", "country": "EE"})
    with pytest.raises(MissingPlaceholderError, match=r"\{supervisory_authority\}.*no value") as caught:
        public_notice(estonian)
    assert "'rights'" in str(caught.value)
    assert "EE" in str(caught.value)


def test_unknown_placeholder_is_an_error_not_left_in_the_text() -> None:
    with pytest.raises(MissingPlaceholderError, match=r"\{opening_hours\}"):
        fill_template("Open {opening_hours}.", {"site_name": "Biržai"})
    assert fill_template("{site_name} {{literal}}", {"site_name": "Biržai"}) == "Biržai {literal}"


@pytest.mark.parametrize("text", ["{site_name.__class__}", "{site_name[0]}", "{site_name!r}", "{site_name:>9}", "{}"])
def test_only_plain_placeholders_are_allowed(text: str) -> None:
    with pytest.raises(NoticeTemplateError, match="plain name"):
        fill_template(text, {"site_name": "Biržai"})


@pytest.mark.parametrize("text", ["an open { brace", "a close } brace"])
def test_unbalanced_braces_are_a_template_error(text: str) -> None:
    with pytest.raises(NoticeTemplateError):
        fill_template(text, {})

"""Mail templates: shipped in English, overridable one part at a time by the operator, in the
account's language where a translation exists."""

import pytest

from app.core.configuration import ConfigurationError
from app.core.mail.templates import MailTemplates
from app.core.mail.templates import candidate_languages
from app.core.mail.templates import normalize_locale
from app.core.mail.templates import shipped_names

CONTEXT = {"email": "ada@example.com", "minutes": 30, "link": "https://app/r?t=x", "token": "x"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("pt-BR", "pt-BR"),
        ("pt_br", "pt-BR"),
        ("EN", "en"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("*", None),
        ("../etc", None),
        ("", None),
        (None, None),
        ("a" * 9, None),
    ],
)
def test_a_locale_is_kept_in_bcp47_casing_or_not_at_all(given, expected):
    assert normalize_locale(given) == expected


def test_a_language_falls_back_to_its_base_and_then_to_english():
    assert candidate_languages("pt-BR") == ["pt-BR", "pt", "en"]
    assert candidate_languages("en-GB") == ["en-GB", "en"]
    assert candidate_languages(None) == ["en"]


def test_every_shipped_mail_renders_a_subject_a_text_and_an_html_part():
    templates = MailTemplates()
    context = CONTEXT | {
        "count": 5,
        "hours": 24,
        "new_email": "a***@example.org",
        "endpoint": 7,
        "url": "https://hooks.example.com/in",
    }

    for name in shipped_names():
        words = templates.render(name, locale=None, context=context)
        assert words.subject and "\n" not in words.subject
        assert "ada@example.com" in words.text
        assert words.html.startswith("<!DOCTYPE html>") and "ada@example.com" in words.html
    assert len(shipped_names()) == 12


def test_the_html_part_escapes_what_the_context_holds():
    words = MailTemplates().render(
        "password_changed", locale=None, context={"email": '<script>"x"</script>@example.com'}
    )

    assert "<script>" not in words.html and "&lt;script&gt;" in words.html
    assert '<script>"x"</script>@example.com' in words.text


def test_an_operator_overrides_one_part_and_adds_a_language(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "password_reset.subject").write_text("Your {{ minutes }}-minute link\n")
    (tmp_path / "pt").mkdir()
    for part, words in {"subject": "Redefinir a senha", "txt": "Código: {{ token }}",
                        "html": "<p>Código: {{ token }}</p>"}.items():  # fmt: skip
        (tmp_path / "pt" / f"password_reset.{part}").write_text(words)
    templates = MailTemplates(str(tmp_path))

    english = templates.render("password_reset", locale="en-US", context=CONTEXT)
    portuguese = templates.render("password_reset", locale="pt-BR", context=CONTEXT)

    assert english.subject == "Your 30-minute link"
    assert "give the app this code: x" in english.text  # the shipped text part
    assert (portuguese.subject, portuguese.text) == ("Redefinir a senha", "Código: x")


def test_a_broken_override_or_a_missing_folder_refuses_to_start(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "mfa_locked.html").write_text("{% if %}")

    with pytest.raises(ConfigurationError, match=r"mfa_locked\.html"):
        MailTemplates(str(tmp_path)).check()
    with pytest.raises(ConfigurationError, match="not a folder"):
        MailTemplates(str(tmp_path / "missing"))


def test_templates_made_again_in_one_process_read_a_changed_override_and_its_breakage(tmp_path):
    (tmp_path / "en").mkdir()
    subject = tmp_path / "en" / "password_reset.subject"
    subject.write_text("First {{ minutes }}")
    first = MailTemplates(str(tmp_path)).render("password_reset", locale=None, context=CONTEXT)
    subject.write_text("Second {{ minutes }}")
    second = MailTemplates(str(tmp_path)).render("password_reset", locale=None, context=CONTEXT)
    subject.write_text("{% if %}")

    assert (first.subject, second.subject) == ("First 30", "Second 30")
    with pytest.raises(ConfigurationError, match=r"password_reset\.subject"):
        MailTemplates(str(tmp_path)).check()

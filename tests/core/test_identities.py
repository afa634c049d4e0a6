"""canonical_email: the one validation the import makes, equal to normalising then checking."""

import pytest

from app.core.identities import canonical_email
from app.core.identities import is_valid_email
from app.core.identities import normalize_email


@pytest.mark.parametrize(
    "given",
    [
        "Ada@Example.COM",
        "  ada@example.com ",
        "ａｄａ@example.com",
        "ada@bücher.example",
        "not an email",
        '"quoted"@example.com',
        "a" * 250 + "@x.io",
        "",
    ],
)
def test_canonical_email_says_what_normalising_then_checking_says(given):
    normalized = normalize_email(given)
    expected = normalized if is_valid_email(normalized) else None

    assert canonical_email(given) == expected

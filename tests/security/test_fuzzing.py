"""Generated bodies and headers at every endpoint never produce a 5xx
(OWASP ASVS 5 V1.2, V16.5: the service fails safe on any input)."""

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

ENDPOINTS = [
    ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh-token"), ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/users/current"), ("GET", "/api/v1/users"), ("PATCH", "/api/v1/users/1"),
    ("DELETE", "/api/v1/users/1"), ("POST", "/auth/login"), ("POST", "/auth/refresh"),
    ("GET", "/auth/me"), ("POST", "/auth/logout"), ("POST", "/auth"), ("GET", "/auth"),
    ("POST", "/api/auth/login"), ("GET", "/api/auth/check"), ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/change-password"), ("POST", "/api/token/"),
    ("POST", "/api/token/refresh/"), ("POST", "/api/token/verify/"),
    ("POST", "/api/token/blacklist/"), ("GET", "/api/users/me/"),
]  # fmt: skip

FIELDS = ["email", "password", "username", "role", "isActive", "refresh", "token", "clientId",
          "clientKey", "currentPassword", "newPassword", "page", "limit"]  # fmt: skip

# Every code point, lone surrogates and NUL included: both once reached PostgreSQL.
text = st.text(st.characters(exclude_categories=()), max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
bodies = st.dictionaries(st.sampled_from(FIELDS) | text, json_values, max_size=6) | json_values
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.sampled_from(["Bearer ", "Basic ", ""]).flatmap(
            lambda scheme: header_text.map(lambda value: scheme + value)
        ),
        "Content-Type": st.sampled_from(
            ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
        ),
        "Origin": header_text,
        "Cookie": header_text.map(lambda value: f"refreshToken={value}; refresh_token={value}"),
    },
)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, request_headers=headers)
def test_no_generated_request_gets_a_server_error(client, method, path, body, request_headers):
    response = client.open(path, method=method, json=body, headers=request_headers)

    assert response.status_code < 500, (response.status_code, response.get_data()[:200])
    assert response.is_json

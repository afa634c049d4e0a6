"""Every response names its request (X-Request-ID): the id a proxy or client offered when it
is well formed, else one made here; a 5xx body carries it in each face's shape."""

import pytest

from app.core.signin import authentication

HEADER = "X-Request-ID"


@pytest.mark.parametrize(
    "offered",
    ["0f8fad5b-d9cb-469f-a165-70867728950e", "Root=1-67891233-abcdef012345678912345678", "a" * 128],
)
def test_a_well_formed_offered_id_is_answered(client, offered):
    assert client.get("/healthz", headers={HEADER: offered}).headers[HEADER] == offered


@pytest.mark.parametrize(
    "offered", ["short", "a" * 129, "two words here", "-leading-dash", "é" * 10]
)
def test_a_malformed_offered_id_is_replaced_by_one_of_ours(client, offered):
    answered = client.get("/healthz", headers={HEADER: offered}).headers[HEADER]

    assert answered != offered
    assert len(answered) == 32 and int(answered, 16) >= 0


def test_each_request_without_an_id_gets_its_own_even_on_errors(client):
    ids = {client.get("/healthz").headers[HEADER] for _ in range(3)}
    missing = client.get("/api/v1/no-such-route")

    assert len(ids) == 3
    assert missing.status_code == 404 and HEADER in missing.headers


def test_a_500_carries_the_request_id_in_the_blog_details(client, monkeypatch):
    def explode(**_kwargs: object) -> None:
        raise RuntimeError("internals")

    monkeypatch.setattr(authentication, "authenticate", explode)

    response = client.post(
        "/api/v1/auth/login",
        json={"email": "a@example.com", "password": "a rare passphrase 42"},
        headers={HEADER: "trace-0000-1111"},
    )

    assert response.status_code == 500
    assert response.get_json()["details"] == {"requestId": "trace-0000-1111"}
    assert response.headers[HEADER] == "trace-0000-1111"

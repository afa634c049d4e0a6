"""The dashboard's figures: counted per UTC hour and day by the database, empty buckets
filled, on SQLite and PostgreSQL alike."""

from datetime import timedelta

from app.core.clock import utcnow
from app.core.models import AuthEvent
from app.core.models import TotpFactor
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user


def _login(client, email: str, password: str = PASSWORD) -> int:
    return client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}
    ).status_code


def test_the_dashboard_counts_sign_ins_failures_refusals_and_new_users(app_context, client, auth):
    admin = make_admin()
    users = [make_user() for _ in range(3)]
    db.session.add(TotpFactor(user_id=users[0].id, sealed_secret="x", confirmed_at=utcnow()))
    yesterday = utcnow() - timedelta(days=1, hours=1)
    db.session.add(AuthEvent(event="login", outcome="success", occurred_at=yesterday))
    db.session.add(AuthEvent(event="client_auth", outcome="failure", occurred_at=yesterday))
    db.session.commit()
    assert _login(client, users[1].email) == 200
    assert _login(client, users[2].email, "not the password") == 400
    token = auth.login(admin.email).get_json()["accessToken"]

    response = client.get("/api/v1/dashboard", headers=auth.headers(token))

    assert response.status_code == 200
    body = response.get_json()
    assert len(body["hourly"]) == 24 and len(body["daily"]) == 30
    now_hour, today = body["hourly"][-1], body["daily"][-1]
    assert (now_hour["signIns"], now_hour["failures"], now_hour["refused"]) == (2, 1, 1)
    assert (today["signIns"], today["failures"], today["newUsers"]) == (2, 1, 4)
    assert body["daily"][-2]["signIns"] + body["daily"][-3]["signIns"] == 1
    assert body["daily"][-2]["refused"] + body["daily"][-3]["refused"] == 1
    assert sum(bucket["signIns"] for bucket in body["hourly"]) == 2
    assert (body["users"], body["activeUsers"], body["withSecondFactor"]) == (4, 4, 1)
    starts = [bucket["start"] for bucket in body["hourly"]]
    assert starts == sorted(starts) and starts[-1].endswith(":00:00.000Z")


def test_the_dashboard_is_for_admins_only(app_context, client, auth):
    token = auth.login(make_user().email).get_json()["accessToken"]

    assert client.get("/api/v1/dashboard", headers=auth.headers(token)).status_code == 403

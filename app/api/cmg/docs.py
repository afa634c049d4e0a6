"""The CMG API's operations, for the OpenAPI description."""

from app.api.cmg import schemas
from app.api.openapi import Operation

E = schemas.ErrorSchema
TAG = "cmg"

OPERATIONS = [
    Operation("POST", "/auth/login", "Log in with username or email", TAG,
              request=schemas.LoginSchema,
              responses={200: ("Access token; sets the refresh_token cookie", schemas.TokenSchema),
                         400: ("Invalid input", E), 401: ("Invalid username or password", E),
                         403: ("Email not verified (AUTH_REQUIRE_VERIFIED_EMAIL)", E),
                         429: ("Too many attempts", E)}),
    Operation("POST", "/auth/refresh", "Rotate the refresh cookie", TAG,
              security=("cmgRefreshCookie",),
              responses={200: ("New access token; rotated cookie", schemas.TokenSchema),
                         401: ("Missing, expired or invalid refresh token", E),
                         403: ("Cross-site request", E), 429: ("Too many requests", E)}),
    Operation("GET", "/auth/me", "The current user", TAG, security=("bearer",),
              responses={200: ("The user", schemas.MeSchema),
                         401: ("Missing, expired or invalid token", E)}),
    Operation("POST", "/auth/logout", "Log out", TAG, security=("bearer",),
              responses={200: ("Logged out; cookie cleared", schemas.MessageSchema),
                         401: ("Missing, expired or invalid token", E)}),
]  # fmt: skip

"""The token-pair API's operations, for the OpenAPI description."""

from app.api.openapi import Operation
from app.api.openapi import operation_id
from app.api.token_pair import schemas

D = schemas.DetailSchema
F = schemas.BAD_REQUEST
TAG = "token-pair"
# A new pair can be refreshed, verified and blacklisted: links for stateful testing.
PAIR_LINKS = {
    200: {
        "Refresh": {"operationId": operation_id(TAG, "POST", "/api/token/refresh/"),
                    "requestBody": {"refresh": "$response.body#/refresh"}},
        "VerifyAccess": {"operationId": operation_id(TAG, "POST", "/api/token/verify/"),
                         "requestBody": {"token": "$response.body#/access"}},
        "Blacklist": {"operationId": operation_id(TAG, "POST", "/api/token/blacklist/"),
                      "requestBody": {"refresh": "$response.body#/refresh"}},
    }
}  # fmt: skip

OPERATIONS = [
    Operation("POST", "/api/token/", "Obtain a refresh and an access token", TAG,
              request=schemas.ObtainSchema, links=PAIR_LINKS,
              responses={200: ("Token pair", schemas.PairSchema), 400: ("Field errors", F),
                         401: ("No active account found", D),
                         403: ("Email not verified (AUTH_REQUIRE_VERIFIED_EMAIL)", D),
                         429: ("Throttled", D)}),
    Operation("POST", "/api/token/refresh/", "Rotate a refresh token", TAG,
              request=schemas.RefreshSchema, links=PAIR_LINKS,
              responses={200: ("New pair; the old refresh token is spent", schemas.RefreshedSchema),
                         400: ("Field errors", F), 401: ("Token is invalid or expired", D),
                         429: ("Throttled", D)}),
    Operation("POST", "/api/token/verify/", "Verify any token", TAG, request=schemas.VerifySchema,
              responses={200: ("Valid", schemas.EmptySchema), 400: ("Field errors", F),
                         401: ("Token is invalid or expired", D), 429: ("Throttled", D)}),
    Operation("POST", "/api/token/blacklist/", "Revoke a refresh token and its session", TAG,
              request=schemas.RefreshSchema,
              responses={200: ("Revoked", schemas.EmptySchema), 400: ("Field errors", F),
                         401: ("Token is invalid or expired", D), 429: ("Throttled", D)}),
    Operation("GET", "/api/users/me/", "The current user", TAG, security=("bearer",),
              responses={200: ("The user", schemas.MeSchema),
                         401: ("Not provided, invalid or expired", D)}),
]  # fmt: skip

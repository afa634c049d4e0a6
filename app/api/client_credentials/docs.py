"""The client-credentials API's operations, for the OpenAPI description."""

from app.api.client_credentials import schemas
from app.api.openapi import Operation

E = schemas.ErrorSchema
TAG = "client-credentials"

OPERATIONS = [
    Operation("POST", "/auth", "Exchange client credentials for a client token", TAG,
              request=schemas.CredentialsSchema,
              responses={200: ("Authenticated", schemas.AuthenticatedSchema),
                         400: ("Missing fields", E), 401: ("Invalid client credentials", E),
                         429: ("Too many attempts", E)}),
    Operation("GET", "/auth", "Verify a client token", TAG, security=("bearer",),
              responses={200: ("The client", schemas.VerifiedSchema),
                         401: ("Not provided, failed, or expired", E)}),
]  # fmt: skip

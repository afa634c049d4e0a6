"""The staff API's operations, for the OpenAPI description."""

from app.api.openapi import Operation
from app.api.staff import schemas

E = schemas.ErrorSchema
TAG = "staff"

OPERATIONS = [
    Operation("POST", "/api/auth/login", "Log in (7-day token)", TAG, request=schemas.LoginSchema,
              responses={200: ("Token and user", schemas.LoggedInSchema),
                         400: ("Invalid input", E), 401: ("Invalid credentials", E),
                         403: ("Email not verified (AUTH_REQUIRE_VERIFIED_EMAIL)", E),
                         429: ("Too many attempts", E), 500: ("Login failed", E)}),
    Operation("GET", "/api/auth/check", "Verify the token; current user and permissions", TAG,
              security=("bearer",),
              responses={200: ("Authenticated", schemas.CheckedSchema),
                         401: ("Any failure", schemas.NotAuthenticatedSchema)}),
    Operation("POST", "/api/auth/logout", "Log out (revokes the token)", TAG,
              security=("bearer",),
              responses={200: ("Logged out", schemas.SuccessSchema), 401: ("Unauthorized", E)}),
    Operation("POST", "/api/auth/change-password", "Change the password", TAG,
              security=("bearer",), request=schemas.ChangePasswordSchema,
              responses={200: ("Changed; other sessions ended", schemas.SuccessSchema),
                         400: ("Current password is incorrect, or invalid input", E),
                         401: ("Unauthorized", E), 404: ("User not found", E),
                         429: ("Too many attempts", E), 500: ("Failed to change password", E)}),
]  # fmt: skip

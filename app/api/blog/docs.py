"""The blog API's operations, for the OpenAPI description."""

from app.api.blog import schemas
from app.api.openapi import Operation

E = schemas.ErrorSchema
TAG = "blog"
AUTH = "/api/v1/auth"

OPERATIONS = [
    Operation("POST", f"{AUTH}/register", "Register and sign in", TAG,
              request=schemas.RegisterSchema,
              responses={201: ("Signed in; sets the refreshToken cookie", schemas.SignedInSchema),
                         400: ("Invalid input", E), 403: ("Admin registration denied", E),
                         409: ("Email taken", E), 429: ("Too many attempts", E)}),
    Operation("POST", f"{AUTH}/login", "Log in", TAG, request=schemas.LoginSchema,
              responses={200: ("Signed in; sets the refreshToken cookie", schemas.SignedInSchema),
                         400: ("Invalid email or password, or invalid input", E),
                         429: ("Too many attempts", E)}),
    Operation("POST", f"{AUTH}/refresh-token", "Rotate the refresh cookie", TAG,
              security=("blogRefreshCookie",),
              responses={200: ("New access token; rotated cookie", schemas.AccessTokenSchema),
                         400: ("No refresh cookie", E), 401: ("Expired, invalid or reused", E),
                         403: ("Cross-site request", E), 429: ("Too many requests", E)}),
    Operation("POST", f"{AUTH}/logout", "Log out", TAG, security=("bearer",),
              responses={200: ("Session ended; cookie cleared", schemas.MessageSchema),
                         400: ("No refresh cookie", E), 401: ("Invalid or expired token", E),
                         403: ("Cross-site request", E)}),
    Operation("GET", "/api/v1/users/current", "The current user", TAG, security=("bearer",),
              responses={200: ("The user", schemas.UserSchema), 401: ("Not authenticated", E)}),
    Operation("GET", "/api/v1/users", "List users (admin)", TAG, security=("bearer",),
              query=schemas.PageQuerySchema,
              responses={200: ("One page of users", schemas.UserPageSchema),
                         400: ("Invalid query", E), 401: ("Not authenticated", E),
                         403: ("Not an admin", E)}),
    Operation("PATCH", "/api/v1/users/{user_id}", "Change a user's role or active flag (admin)",
              TAG, security=("bearer",), path_parameters=("user_id",),
              request=schemas.UserUpdateSchema,
              responses={200: ("The user", schemas.AdminUserSchema), 400: ("Invalid input", E),
                         401: ("Not authenticated", E), 403: ("Not an admin, or yourself", E),
                         404: ("No such user", E)}),
    Operation("DELETE", "/api/v1/users/{user_id}", "Delete a user (admin)", TAG,
              security=("bearer",), path_parameters=("user_id",),
              responses={200: ("Deleted", schemas.MessageSchema), 401: ("Not authenticated", E),
                         403: ("Not an admin, or yourself", E), 404: ("No such user", E)}),
    Operation("GET", "/api/v1/audit-events", "Query the audit log (admin)", TAG,
              security=("bearer",), query=schemas.AuditQuerySchema,
              responses={200: ("One page of events", schemas.AuditPageSchema),
                         400: ("Invalid query", E), 401: ("Not authenticated", E),
                         403: ("Not an admin", E)}),
]  # fmt: skip

"""Sessions: one per sign-in, where every way in ends (sessions.complete_sign_in), the
caller behind an access token (callers), refresh-token rotation (refreshes), logout and the
end of sessions.

Imports tokens, audit and the foundation.
"""

"""User accounts and API clients: creating, changing and administering them (accounts), the
admin whitelist, API clients, and moving users in and out (user_import). Checking a login's
password is app/core/signin's.

Imports factors, sessions, tokens, audit, passwords and the foundation.
"""

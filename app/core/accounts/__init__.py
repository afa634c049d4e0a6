"""User accounts and API clients: creating, checking a password (with the login budget),
changing and administering them (accounts), the admin whitelist, API clients, and moving
users in and out (user_import).

Imports factors, sessions, tokens, audit, passwords and the foundation.
"""

"""Signing up and in with a password on any face (authentication), and the verify
endpoints' token checks (token_checks).

Imports mailbox, accounts, factors, sessions and the layers below; nothing imports it.
"""

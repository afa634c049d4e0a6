"""The flows through a user's mailbox: password reset and email verification (mailed_tokens),
and the single-use tokens they mail (account_tokens). The mailbox owner wins here.

Imports accounts, factors, sessions, mail, audit and the layers below.
"""

"""Sending mail: the outbox that mail is written to with its cause and the courier thread of
each worker that delivers it (outbox), the backends (SMTP, console, none) and the Mailer
(mail), and the words of each mail in its languages (templates).

Imports the foundation only.
"""

"""Hooks on the service's events: webhooks (events written in the transaction of the change
that caused them, delivered signed and at least once: events, endpoints, delivery, transport)
and auth hooks (synchronous decisions: auth_hooks).

Imports mail, audit, tokens and the foundation; the packages above call ``events.emit``.
"""

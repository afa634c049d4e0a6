"""Signing in with an OpenID provider: the configured providers (providers), the ID-token
exchange, identities and linking (oidc), and the web redirect flow (oidc_flow).

Imports accounts, factors, sessions and the layers below; nothing imports it.
"""

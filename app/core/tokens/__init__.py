"""The service's JWTs: the signing and verification keys (keys), writing a token (minting),
reading one back strictly (verifier), and what each kind carries and lasts (tokens).

Imports the foundation only (app.core's own modules: errors, clock, configuration...).
"""

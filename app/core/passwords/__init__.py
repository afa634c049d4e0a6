"""Passwords: the policy for new ones (passwords), hashing and checking them with a bounded
cost (security), and the hashes other systems made (foreign_hashes).

Imports the foundation only.
"""

"""Sending mail: the backends (SMTP, console, none) and the worker's background queue.

Imports the foundation only.
"""

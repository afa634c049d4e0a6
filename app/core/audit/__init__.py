"""The audit log: recording an event and querying them (audit), and storing rows in batches
off the request path (writer).

Imports the foundation only.
"""

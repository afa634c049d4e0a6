"""The audit log: recording an event and querying them (audit), where a request comes from
(origin), and storing rows in batches off the request path (writer).

Imports the foundation only.
"""

"""The auth core: everything the faces (app.api) call, grouped by feature.

The foundation is this folder's own modules (clock, errors, models, configuration, bounds,
identities, roles, attempts, direct_statements, process_queue, outages, health, secret_box,
leased_rows): they import no package of the core. Above it, each package imports only those
below it (pyproject.toml's import-linter contracts hold this):

    signin | federation
    mailbox
    accounts
    factors
    sessions
    hooks
    audit | tokens | passwords | mail
"""

"""What proves who a user is beyond a first factor: TOTP, recovery codes and passkeys, the
second step of a login and the lock on guessing it (second_factor, mfa_lock), and the step-up
that sensitive actions pass (step_up, reauthentication); TOTP secrets sealed (secret_box).

Imports sessions, tokens, audit, mail, passwords and the foundation.
"""

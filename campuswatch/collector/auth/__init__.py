"""Who may do what: people's accounts and sessions, machines' tokens, roles, and the audit log.

``principal.py`` (pure) says what each role and token scope allows and over which schools;
``passwords.py`` hashes with argon2; ``sessions.py`` (pure) seals session cookies and makes CSRF tokens;
``throttle.py`` (pure) slows down password guessing; ``tokens.py`` makes tokens and their hashes;
``accounts.py`` does all of it over the store (users, tokens, audit) and writes the audit log.
"""

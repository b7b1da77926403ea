"""The lint-eps rule catalogue: one module per rule or rule family, discovered by `lint_eps.registry`.

API knowledge (which functions take logits, which compute a log, what replaces what) lives in `api_tables`, so
supporting one more API is one more row there, not more visitor code.
"""

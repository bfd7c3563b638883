"""The Alembic environment of our tables (not Optuna's): ``env.py`` and one script per revision in
``versions/``, recorded in the ``tradeoff_alembic_version`` table; run through :mod:`core.storage.schema`."""

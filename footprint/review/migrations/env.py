"""Alembic environment of the review register, run programmatically by :mod:`footprint.review`.

The caller passes an open SQLAlchemy connection in ``config.attributes["connection"]``;
nothing is read from an ``alembic.ini`` and no logging is configured here.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

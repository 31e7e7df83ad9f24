"""Alembic's entry for the ledger's migrations, run in code only (``toolkit.ledger.schema.upgrade``): the
connection, already inside the transaction that serialises migrations, comes in ``config.attributes``."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()

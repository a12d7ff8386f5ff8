"""outbox: index (status, due_at, id) so claiming the oldest due row needs no sort

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 11:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_status_due_id', 'outbox', ['status', 'due_at', 'id'], unique=False)
    op.drop_index('ix_outbox_status_due', table_name='outbox')


def downgrade() -> None:
    op.create_index('ix_outbox_status_due', 'outbox', ['status', 'due_at'], unique=False)
    op.drop_index('ix_outbox_status_due_id', table_name='outbox')

"""course: the programme a tutor last chose in the Deep Linking picker

Revision ID: 7a1c0e5d2b94
Revises: b7d2e41c9a10
Create Date: 2026-11-30 13:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7a1c0e5d2b94'
down_revision = 'b7d2e41c9a10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('picker_programme', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_column('picker_programme')

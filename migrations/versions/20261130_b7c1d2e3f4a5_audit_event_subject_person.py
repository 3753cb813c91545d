"""audit_event.subject_person_id: which person an entry concerns (the log filters by it)

Revision ID: b7c1d2e3f4a5
Revises: 4200293166d9
Create Date: 2026-11-30 13:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7c1d2e3f4a5'
down_revision = '4200293166d9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign key: an entry outlives the person row it names (erasure deletes the person, the
    # audit trail keeps the fact that their data was exported or erased).
    with op.batch_alter_table('audit_event') as batch:
        batch.add_column(sa.Column('subject_person_id', sa.Integer(), nullable=True))
        batch.create_index('ix_audit_event_subject_person_id', ['subject_person_id'])


def downgrade() -> None:
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_index('ix_audit_event_subject_person_id')
        batch.drop_column('subject_person_id')

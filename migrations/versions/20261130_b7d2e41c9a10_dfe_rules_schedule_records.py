"""DfE rules: the course's DfE schedule, records of special consideration, malpractice and
appeals, and an attempt's voided outcome and discounted flag

Revision ID: b7d2e41c9a10
Revises: b7c1d2e3f4a5
Create Date: 2026-11-30 13:30:00
"""
from alembic import op
import sqlalchemy as sa
import lti_tool.db


revision = 'b7d2e41c9a10'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assessment_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_outcome', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('discounted', sa.Boolean(), server_default=sa.text('false'), nullable=False))

    op.create_table('assessment_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('item_ref', sa.String(length=200), nullable=False),
    sa.Column('schedule_key', sa.String(length=60), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_assessment_schedule_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by_id'], ['person.id'], name=op.f('fk_assessment_schedule_set_by_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_schedule')),
    sa.UniqueConstraint('course_id', 'item_ref', name=op.f('uq_assessment_schedule_course_id'))
    )
    with op.batch_alter_table('assessment_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_schedule_course_id'), ['course_id'], unique=False)

    op.create_table('assessment_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('effect', sa.String(length=20), nullable=True),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', lti_tool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', lti_tool.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_assessment_record_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['attempt_id'], ['assessment_attempt.id'], name=op.f('fk_assessment_record_attempt_id_assessment_attempt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raised_by_id'], ['person.id'], name=op.f('fk_assessment_record_raised_by_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['person.id'], name=op.f('fk_assessment_record_decided_by_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_record'))
    )
    with op.batch_alter_table('assessment_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_record_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_record_attempt_id'), ['attempt_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessment_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_record_attempt_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_record_course_id'))
    op.drop_table('assessment_record')
    with op.batch_alter_table('assessment_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_schedule_course_id'))
    op.drop_table('assessment_schedule')
    with op.batch_alter_table('assessment_attempt', schema=None) as batch_op:
        batch_op.drop_column('discounted')
        batch_op.drop_column('voided_outcome')

from alembic import context

from history.adapters.tables import metadata
from orderflow_service.migrations import run_env

run_env(context, metadata)

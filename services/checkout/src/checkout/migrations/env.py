from alembic import context

from checkout.adapters.tables import metadata
from orderflow_service.migrations import run_env

run_env(context, metadata)

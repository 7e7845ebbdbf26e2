from alembic import context

from orderflow_service.migrations import run_env
from orders.adapters.tables import metadata

run_env(context, metadata)

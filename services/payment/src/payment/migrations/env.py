from alembic import context

from orderflow_service.migrations import run_env
from payment.adapters.tables import metadata

run_env(context, metadata)

"""Every domain's tables, imported so SQLModel.metadata is complete (Alembic, tests)."""

from app.accounts import models as accounts_models  # noqa: F401

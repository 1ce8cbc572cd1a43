"""Every domain's tables, imported so SQLModel.metadata is complete (Alembic, tests)."""

from app.accounts import models as accounts_models  # noqa: F401
from app.aftersales import models as aftersales_models  # noqa: F401
from app.audit import models as audit_models  # noqa: F401
from app.catalog import models as catalog_models  # noqa: F401
from app.customers import models as customers_models  # noqa: F401
from app.followups import models as followups_models  # noqa: F401
from app.integrations import models as integrations_models  # noqa: F401
from app.metrics import models as metrics_models  # noqa: F401
from app.metrics import rollup_models as metrics_rollup_models  # noqa: F401
from app.orders import models as orders_models  # noqa: F401
from app.phrasing import models as phrasing_models  # noqa: F401
from app.presale import models as presale_models  # noqa: F401
from app.reviews import models as reviews_models  # noqa: F401
from app.tickets import models as tickets_models  # noqa: F401
from app.tickets import sla_models as tickets_sla_models  # noqa: F401

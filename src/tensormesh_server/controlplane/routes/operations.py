"""Every route of the operations issue, in one list for the app to register."""

from __future__ import annotations

from . import activities, admin_users, models, observability, products, support

routes = [
    *models.routes,
    *support.routes,
    *activities.routes,
    *observability.routes,
    *products.routes,
    *admin_users.routes,
]

"""The models a gateway serves: static ones (flags, models file) plus the deployments of the
Control Plane, followed from the database without a restart, with replica health checks."""

from .health import HealthMonitor
from .logbook import Logbook
from .registry import ModelRegistry

__all__ = ["HealthMonitor", "Logbook", "ModelRegistry"]

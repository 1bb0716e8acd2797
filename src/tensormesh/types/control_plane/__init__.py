"""Wire shapes of the Control Plane API (protobuf-JSON: camelCase names, enum strings).

The SDK reads replies with them and the local server builds its replies from them
(`model.to_wire()`), so each shape is defined once.
"""

from ._base import (
    ControlPlaneModel,
    ErrorBody,
    GrpcCode,
    Int64,
    Timestamp,
    format_timestamp,
    grpc_code_for_status,
)
from .auth import CliExchangeRequest, CliStart, RefreshRequest, TokenSet
from .users import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreateParams,
    ApiKeyList,
    ApiKeyListParams,
    ApiKeyReply,
    Empty,
    User,
    UserReply,
    UserRole,
    UserUpdate,
    UserUpdateParams,
)

__all__ = [
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyCreateParams",
    "ApiKeyList",
    "ApiKeyListParams",
    "ApiKeyReply",
    "CliExchangeRequest",
    "CliStart",
    "ControlPlaneModel",
    "Empty",
    "ErrorBody",
    "GrpcCode",
    "Int64",
    "RefreshRequest",
    "Timestamp",
    "TokenSet",
    "User",
    "UserReply",
    "UserRole",
    "UserUpdate",
    "UserUpdateParams",
    "format_timestamp",
    "grpc_code_for_status",
]

"""Pydantic v2 support for ``ApikeeClaims`` (what FastAPI uses for response models).

Imported only when pydantic asks ``ApikeeClaims.__get_pydantic_core_schema__``: the base install
does not depend on pydantic. A route annotated ``-> ApikeeClaims`` (or a model with an
``ApikeeClaims`` field) accepts claims of either implementation and serializes them as
:meth:`ApikeeClaims.to_json_dict`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["claims_core_schema", "claims_json_schema"]


def claims_core_schema(public_class: type) -> Any:
    """A core schema: instances only (no coercion from dicts), serialized as the JSON view."""
    from pydantic_core import core_schema

    def validate(value: Any) -> Any:
        if isinstance(value, public_class):
            return value
        raise ValueError("expected an apikee.ApikeeClaims object")

    def serialize(value: Any) -> dict[str, Any]:
        return value.to_json_dict()  # type: ignore[no-any-return]

    return core_schema.no_info_plain_validator_function(
        validate,
        serialization=core_schema.plain_serializer_function_ser_schema(serialize),
    )


def claims_json_schema() -> dict[str, Any]:
    """The OpenAPI/JSON schema of :meth:`ApikeeClaims.to_json_dict`."""
    instant = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
    number = {"anyOf": [{"type": "number"}, {"type": "null"}]}
    properties = {
        "id": {"type": "string"},
        "tenant": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "environment": {"type": "string"},
        "expires_at": instant,
        "exp": number,
        "not_before": instant,
        "nbf": number,
        "issued_at": instant,
        "iat": number,
        "meta": {"type": "object"},
    }
    # Every field of to_json_dict() is always there (None where absent).
    return {
        "title": "ApikeeClaims",
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }

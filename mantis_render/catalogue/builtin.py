"""The sections every project's profiles have, whatever its catalogue: the tool's own settings.

``tier`` and ``waivers`` (policy), ``secrets`` (the stores references read from), and the rules of
the two built-in section types a catalogue places where it wants them: ``services`` and
``composed``.
"""

from __future__ import annotations

from typing import Any

from ..secrets.references import STORE_KINDS, VAULT_PATH
from .types import GO_DURATION, _limits

# The kind of environment sets which policy rules apply (see mantis_render.policy).
TIERS = ("development", "staging", "production")
KUBERNETES_NAME = r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?"
SERVICE_NAME = r"[a-z][a-z0-9_]{0,40}"
COMPOSED_NAME = r"[A-Z][A-Z0-9_]{0,60}"
SERVICE_VARIABLE = r"[A-Z][A-Z0-9_]{0,60}"
# Keys of a profile that no catalogue may declare.
RESERVED = ("extends", "tier", "waivers", "secrets")


def _plain(kind: str, description: str, **rules: Any) -> dict[str, Any]:
    return {"type": kind, "required": True, "meta": {"description": description}, **rules}


def _section(description: str, fields: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {
        "type": "dict",
        "required": required,
        "schema": fields,
        "meta": {"description": description},
    }


def _store(kind: str) -> dict[str, Any]:
    """A secret store: the External Secrets store that serves it in Kubernetes (and Vault's
    KV v2 mount). References of its kind are read from it."""
    fields: dict[str, Any] = {}
    if kind == "vault":
        fields["mount"] = _plain(
            "string", "Vault KV v2 mount (the secret store's path)", regex=VAULT_PATH.pattern
        )
    fields["external_secrets"] = _section(
        "The External Secrets store that reads it",
        {
            "kind": _plain(
                "string",
                "Kind of the External Secrets store",
                allowed=["ClusterSecretStore", "SecretStore"],
            ),
            "name": _plain("string", "Name of the External Secrets store", regex=KUBERNETES_NAME),
        },
    )
    return _section(STORE_KINDS[kind].product, fields, required=False)


def leading_sections() -> dict[str, Any]:
    """The sections before the catalogue's, in this order."""
    return {
        "tier": _plain(
            "string", "Kind of environment: sets which rules apply", allowed=list(TIERS)
        ),
        "waivers": {
            "type": "list",
            "required": False,
            "meta": {
                "description": "Policy rules this environment is exempt from, each with a reason"
            },
            "schema": {
                "type": "dict",
                "schema": {
                    "rule": _plain("string", "The id of the waived rule", regex=r"[a-z0-9-]+"),
                    "reason": _plain("string", "Why the rule does not apply here", minlength=10),
                },
            },
        },
        "secrets": _section(
            "Where secret references point",
            {
                "stores": _section(
                    "The secret stores that references read from, by kind (each one optional)",
                    {kind: _store(kind) for kind in STORE_KINDS},
                ),
                "refresh_interval": _plain(
                    "string",
                    "How often External Secrets re-reads the stores (like 1h)",
                    regex=GO_DURATION,
                ),
            },
        ),
    }


def services_rules(
    description: str, required: bool, declared: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Each service gives PORT_<NAME>; undeclared, each of its `variables` gives
    <NAME>_<VARIABLE>. ``declared``: the services the catalogue declares, each with the rules of
    its own variables (then the profiles hold exactly these services, and their values)."""
    limits = {
        **_limits({}),
        "required": True,
        "meta": {"description": "Container limits of the service in the compose override"},
    }
    port = {
        "type": "integer",
        "required": True,
        "min": 1,
        "max": 65535,
        "meta": {"description": "Port the service listens on (PORT_<SERVICE>)"},
    }
    meta: dict[str, Any] = {"description": description, "services": True}
    if declared is not None:
        services = {}
        for name, own in declared.items():
            fields: dict[str, Any] = {"port": port, "limits": limits}
            if own:
                fields["variables"] = {
                    "type": "dict",
                    "required": any(rules["required"] for rules in own.values()),
                    "schema": own,
                    "meta": {"description": f"The values of the {name} service's own variables"},
                }
            services[name] = {
                "type": "dict",
                "required": True,
                "schema": fields,
                "meta": {"description": f"The {name} service"},
            }
        return {
            "type": "dict",
            "required": required,
            "schema": services,
            "meta": {**meta, "declared": True},
        }
    service = {
        "port": port,
        "limits": limits,
        "variables": {
            "type": "dict",
            "required": False,
            "keysrules": {"regex": SERVICE_VARIABLE},
            "valuesrules": {"type": ["string", "integer", "number", "boolean"]},
            "meta": {"description": "More variables of the service, named <SERVICE>_<KEY>"},
        },
    }
    return {
        "type": "dict",
        "required": required,
        "minlength": 1,
        "keysrules": {"regex": SERVICE_NAME},
        "valuesrules": {"type": "dict", "schema": service},
        "meta": meta,
    }


COMPOSED_DESCRIPTION = "Variables composed from settings and secrets (connection URLs), by name"


def composed_rules(description: str) -> dict[str, Any]:
    return {
        "type": "dict",
        "required": False,
        "keysrules": {"regex": COMPOSED_NAME},
        "valuesrules": {
            "type": "dict",
            "schema": {
                "template": {
                    "type": "string",
                    "required": True,
                    "empty": False,
                    "meta": {
                        "description": "The value: text with {setting.path|filter} placeholders"
                    },
                },
                "description": {
                    "type": "string",
                    "required": False,
                    "empty": False,
                    "meta": {"description": "What the variable is, for docs/variables.md"},
                },
            },
        },
        "meta": {"description": description, "composed": True},
    }

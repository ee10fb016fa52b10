"""The profile schema: each setting, its type and range, its variable name, whether it is secret.

Each leaf that becomes an environment variable carries ``meta.env`` (the variable's name) and
``meta.description``; a secret one also carries ``meta.secret`` (its kind, which sets its rotation
period). This is the only place those facts are written: the .env, the ConfigMap and the Secret all
read them from here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from .errors import Problem, closest, first_problems
from .precheck import TypeDefinition, compile_rules, vouches
from .profiles import Location, Profile
from .secrets import STORE_KINDS, VAULT_PATH, reference_problem
from .yaml_source import KeyPath, format_key_path

# The kind of environment sets which policy rules apply (see mantis_render.policy).
TIERS = ["development", "staging", "production"]
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
MONITORING_LEVELS = ["off", "optional", "recommended", "required"]
ALERTING_CHANNELS = ["email", "pagerduty", "slack"]
# Secret kinds, named after the guide's rotation rules.
SECRET_KINDS = ["database-password", "api-key", "jwt-secret", "admin-password"]
# Secrets that are files: a certificate is renewed before it expires, not rotated on a period.
SECRET_FILE_KINDS = ["certificate", "private-key"]

HOST_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
KUBERNETES_NAME = r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?"
GO_DURATION = r"(?:[0-9]+(?:ns|us|ms|s|m|h))+"
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def _setting(kind: str | list[str], env: str, description: str, **rules: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "required": True,
        "meta": {"env": env, "description": description},
        **rules,
    }


def _text(env: str, description: str, **rules: Any) -> dict[str, Any]:
    return _setting("string", env, description, empty=False, **rules)


def _host(env: str, description: str) -> dict[str, Any]:
    rules = _text(env, description, regex=HOST_PATTERN)
    rules["meta"]["hint"] = "a host name like db.example.com"
    return rules


def _port(env: str, description: str) -> dict[str, Any]:
    return _setting("integer", env, description, min=1, max=65535)


# Upper bounds, each the largest value every consumer of the setting accepts:
# a count is a 32-bit signed integer for Kafka (partitions) and Kubernetes (replicas);
MAX_COUNT = 2**31 - 1
# compose reads `cpus` as a 32-bit float, exact for whole numbers up to 2^24, and the engine counts
# nano-CPUs in 64 bits; compose turns `memory` into bytes, a 64-bit signed integer.
MAX_CPUS = 2**24
MAX_MEMORY_MB = (2**63 - 1) // 2**20


def _count(env: str, description: str) -> dict[str, Any]:
    return _setting("integer", env, description, min=1, max=MAX_COUNT)


def _flag(env: str, description: str) -> dict[str, Any]:
    return _setting("boolean", env, description)


def _secret(
    env: str, description: str, kind: str, accepts: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A literal text (development only) or a reference: see mantis_render.secrets.
    ``accepts``: what the store that takes it accepts, checked once it is resolved
    (mantis_render.limits): ``consumer``, ``min_length`` or ``single_line``, and ``why``."""
    rules = _setting(["string", "dict"], env, description, empty=False, check_with="secret")
    rules["meta"]["secret"] = kind
    if accepts:
        rules["meta"]["accepts"] = accepts
    return rules


def _postgres_password(product: str) -> dict[str, Any]:
    return {
        "consumer": product,
        "single_line": True,
        "why": "the official image sets the password with initdb --pwfile, which keeps its "
        "first line only, so the URL the services are given would be refused",
    }


def _secret_file(name: str, description: str, kind: str) -> dict[str, Any]:
    """A secret written as a file (``name``), never as a variable: a literal (development only)
    or a reference."""
    return {
        "type": ["string", "dict"],
        "required": True,
        "empty": False,
        "check_with": "secret",
        "meta": {"description": description, "secret": kind, "file": name},
    }


def _plain(kind: str, description: str, **rules: Any) -> dict[str, Any]:
    """A setting that is not an environment variable."""
    return {"type": kind, "required": True, "meta": {"description": description}, **rules}


def _section(
    description: str, fields: dict[str, Any], compose: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A section; ``compose`` for a store the compose stack runs: its service name there, the
    port it listens on for the other containers, (Kafka) the port of its host listener, and the
    protocol doctor logs in with to check its credentials (postgresql, redis), if any."""
    meta: dict[str, Any] = {"description": description}
    if compose:
        meta["compose"] = compose
    return {"type": "dict", "required": True, "schema": fields, "meta": meta}


def _limits(owner: str) -> dict[str, Any]:
    """Container limits for the compose override; not environment variables."""
    return _section(
        f"Container limits of {owner} in the compose override",
        {
            "cpus": {
                "type": "number",
                "required": True,
                "min": 0.01,
                "max": MAX_CPUS,
                "meta": {"description": "CPU cores the container may use"},
            },
            "memory_mb": {
                "type": "integer",
                "required": True,
                "min": 4,
                "max": MAX_MEMORY_MB,
                "meta": {"description": "Memory limit in MiB"},
            },
        },
    )


def _database(prefix: str, product: str, database_kind: str, service: str) -> dict[str, Any]:
    return _section(
        f"{product} connection",
        {
            "host": _host(f"{prefix}_HOST", f"{product} host"),
            "port": _port(f"{prefix}_PORT", f"{product} port"),
            "database": _text(f"{prefix}_DB", f"{product} database name", regex=NAME_PATTERN),
            "user": _text(f"{prefix}_USER", f"{product} user", regex=NAME_PATTERN),
            "password": _secret(
                f"{prefix}_PASSWORD",
                f"{product} password",
                database_kind,
                _postgres_password(product),
            ),
            "limits": _limits(product),
        },
        compose={"service": service, "port": 5432, "protocol": "postgresql"},
    )


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
    store = _section(STORE_KINDS[kind].product, fields)
    store["required"] = False
    return store


SERVICE_NAME = r"[a-z][a-z0-9_]{0,40}"
COMPOSED_NAME = r"[A-Z][A-Z0-9_]{0,60}"
SERVICE_VARIABLE = r"[A-Z][A-Z0-9_]{0,60}"
# The keys rules give no type: yaml_source keeps every key as text (`1:` is the key "1"), and a
# rule checked for each key of each service is a measurable part of validating 1,000 of them.

# Each service gives PORT_<NAME> and, for each of its `variables`, <NAME>_<VARIABLE>.
SERVICE_SCHEMA: dict[str, Any] = {
    "port": {
        "type": "integer",
        "required": True,
        "min": 1,
        "max": 65535,
        "meta": {"description": "Port the service listens on (PORT_<SERVICE>)"},
    },
    "limits": _limits("the service"),
    "variables": {
        "type": "dict",
        "required": False,
        "keysrules": {"regex": SERVICE_VARIABLE},
        "valuesrules": {"type": ["string", "integer", "number", "boolean"]},
        "meta": {"description": "More variables of the service, named <SERVICE>_<KEY>"},
    },
}


# The order here is the order of the variables in every output.
PROFILE_SCHEMA: dict[str, Any] = {
    "tier": _plain("string", "Kind of environment: sets which rules apply", allowed=TIERS),
    "waivers": {
        "type": "list",
        "required": False,
        "meta": {"description": "Policy rules this environment is exempt from, each with a reason"},
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
    "log_level": _text("LOG_LEVEL", "Logging level", allowed=LOG_LEVELS),
    "debug": _flag("DEBUG", "Debug mode"),
    "enable_mock_data": _flag("ENABLE_MOCK_DATA", "Generate mock sensor data"),
    "postgres": _database("POSTGRES", "PostgreSQL", "database-password", "postgres"),
    "timescaledb": _database("TIMESCALEDB", "TimescaleDB", "database-password", "timescaledb"),
    "kafka": _section(
        "Kafka",
        {
            "bootstrap_servers": _setting(
                "list",
                "KAFKA_BOOTSTRAP_SERVERS",
                "Kafka bootstrap servers (host:port, comma-separated)",
                minlength=1,
                schema={
                    "type": "string",
                    "regex": rf"{HOST_PATTERN}:[0-9]{{1,5}}",
                    "meta": {"hint": "host:port, like kafka-0.example.com:9092"},
                },
            ),
            "group_id": _text("KAFKA_GROUP_ID", "Consumer group ID", regex=NAME_PATTERN),
            "partitions": _count("KAFKA_PARTITIONS", "Partitions per topic"),
            "topics": _section(
                "Kafka topic names",
                {
                    "sensor_raw": _text(
                        "KAFKA_TOPIC_SENSOR_RAW", "Raw sensor readings topic", regex=NAME_PATTERN
                    ),
                    "sensor_preprocessed": _text(
                        "KAFKA_TOPIC_SENSOR_PREPROCESSED",
                        "Preprocessed readings topic",
                        regex=NAME_PATTERN,
                    ),
                    "features_computed": _text(
                        "KAFKA_TOPIC_FEATURES_COMPUTED",
                        "Extracted features topic",
                        regex=NAME_PATTERN,
                    ),
                    "anomalies_detected": _text(
                        "KAFKA_TOPIC_ANOMALIES_DETECTED",
                        "Detected anomalies topic",
                        regex=NAME_PATTERN,
                    ),
                    "rul_predictions": _text(
                        "KAFKA_TOPIC_RUL_PREDICTIONS",
                        "Remaining-useful-life predictions topic",
                        regex=NAME_PATTERN,
                    ),
                },
            ),
            "limits": _limits("Kafka"),
        },
        compose={"service": "kafka", "port": 29092, "host_listener": 9092},
    ),
    "redis": _section(
        "Redis",
        {
            "host": _host("REDIS_HOST", "Redis host"),
            "port": _port("REDIS_PORT", "Redis port"),
            "db": _setting("integer", "REDIS_DB", "Redis database index", min=0, max=15),
            "password": _secret("REDIS_PASSWORD", "Redis password", "database-password"),
            "limits": _limits("Redis"),
        },
        compose={"service": "redis", "port": 6379, "protocol": "redis"},
    ),
    "minio": _section(
        "MinIO object storage",
        {
            "host": _host("MINIO_HOST", "MinIO host"),
            "port": _port("MINIO_PORT", "MinIO API port"),
            # MinIO refuses to start with a root user under 3 characters or a password under 8.
            "access_key": _text("MINIO_ACCESS_KEY", "MinIO access key (user name)", minlength=3),
            "secret_key": _secret(
                "MINIO_SECRET_KEY",
                "MinIO secret key",
                "api-key",
                {
                    "consumer": "MinIO",
                    "min_length": 8,
                    "why": "MinIO refuses to start with a secret key under 8 characters",
                },
            ),
            "bucket": _text(
                "MINIO_BUCKET",
                "Bucket for models and artefacts",
                regex=r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
            ),
            "limits": _limits("MinIO"),
        },
        compose={"service": "minio", "port": 9000},
    ),
    "mlflow": _section(
        "MLflow tracking server",
        {
            "host": _host("MLFLOW_HOST", "MLflow host"),
            "port": _port("MLFLOW_PORT", "MLflow port"),
            "limits": _limits("MLflow"),
        },
        compose={"service": "mlflow", "port": 5000},
    ),
    "grafana": _section(
        "Grafana",
        {
            "host": _host("GRAFANA_HOST", "Grafana host"),
            "port": _port("GRAFANA_PORT", "Grafana port"),
            "admin_user": _text("GRAFANA_ADMIN_USER", "Grafana admin user", regex=NAME_PATTERN),
            "admin_password": _secret(
                "GRAFANA_ADMIN_PASSWORD", "Grafana admin password", "admin-password"
            ),
            "limits": _limits("Grafana"),
        },
        compose={"service": "grafana", "port": 3000},
    ),
    "services": {
        "type": "dict",
        "required": True,
        "minlength": 1,
        "keysrules": {"regex": SERVICE_NAME},
        "valuesrules": {"type": "dict", "schema": SERVICE_SCHEMA},
        "meta": {
            "description": "The MANTIS services, by name (lowercase, like ingestion_iiot)",
            "services": True,
        },
    },
    "resources": _section(
        "Sizing of the environment",
        {
            "cpu_cores": _count("RESOURCES_CPU_CORES", "CPU cores (minimum)"),
            "memory_gb": _count("RESOURCES_MEMORY_GB", "RAM in GB (minimum)"),
            "storage_gb": _count("RESOURCES_STORAGE_GB", "Storage in GB (minimum)"),
            "db_connections": _count("DB_MAX_CONNECTIONS", "Database connections"),
            "replicas": _count("REPLICAS", "Replicas of each MANTIS service"),
        },
    ),
    "performance": _section(
        "Processing performance",
        {
            "batch_size": _count("BATCH_SIZE", "Batch size"),
            "workers": _count("WORKERS", "Worker processes"),
            "timeout_seconds": _count("TIMEOUT_SECONDS", "Request timeout in seconds"),
            "retention_days": _count("RETENTION_DAYS", "Data retention in days"),
        },
    ),
    "monitoring": _section(
        "Monitoring and alerting",
        {
            "prometheus": _text("MONITORING_PROMETHEUS", "Prometheus", allowed=MONITORING_LEVELS),
            "grafana": _text("MONITORING_GRAFANA", "Grafana dashboards", allowed=MONITORING_LEVELS),
            "jaeger": _text("MONITORING_JAEGER", "Jaeger tracing", allowed=MONITORING_LEVELS),
            "elk": _text("MONITORING_ELK", "ELK stack", allowed=MONITORING_LEVELS),
            "alerting": _setting(
                "list",
                "ALERTING_CHANNELS",
                "Alerting channels (comma-separated; empty for none)",
                allowed=ALERTING_CHANNELS,
            ),
        },
    ),
    "security": _section(
        "Security",
        {
            "tls": _flag("TLS_ENABLED", "TLS on every connection"),
            "audit_logging": _flag("AUDIT_LOGGING_ENABLED", "Audit logging"),
            "jwt_secret": _secret("JWT_SECRET", "Secret that signs API tokens", "jwt-secret"),
        },
    ),
    "composed": {
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
        "meta": {
            "description": "Variables composed from settings and secrets (connection URLs), "
            "by name",
            "composed": True,
        },
    },
    "tls": {
        "type": "dict",
        "required": False,
        "meta": {
            "description": "The environment's TLS certificate: a kubernetes.io/tls Secret, and "
            "files the compose services mount (never a .env line)"
        },
        "schema": {
            "certificate": _secret_file(
                "tls.crt", "The certificate, PEM (its chain after it)", "certificate"
            ),
            "private_key": _secret_file("tls.key", "Its private key, PEM", "private-key"),
            "renew_before_days": {
                "type": "integer",
                "required": False,
                "min": 1,
                "max": 3650,
                "meta": {
                    "description": "secrets audit: due this many days before expiry (default 30)"
                },
            },
        },
    },
}

# Secrets that are files, not variables: setting -> the file's name in every output.
SECRET_FILES: dict[KeyPath, str] = {
    ("tls", "certificate"): "tls.crt",
    ("tls", "private_key"): "tls.key",
}


class Setting(NamedTuple):  # a tuple: tens of thousands are made for a large project
    """A leaf of the schema that becomes an environment variable."""

    path: KeyPath
    env: str
    description: str
    secret_kind: str | None


def settings(
    data: Mapping[str, Any] | None = None,
    schema: Mapping[str, Any] = PROFILE_SCHEMA,
    prefix: KeyPath = (),
) -> Iterator[Setting]:
    """Every variable in declaration order; with a profile's ``data``, its services' ones too."""
    for key, rules in schema.items():
        meta = rules.get("meta", {})
        if "env" in meta:
            yield Setting((*prefix, key), meta["env"], meta["description"], meta.get("secret"))
        elif meta.get("services"):
            if data is not None:
                yield from _service_settings(data.get(key) or {}, (*prefix, key))
        elif rules.get("type") == "dict" and "schema" in rules:
            yield from settings(data.get(key) if data else None, rules["schema"], (*prefix, key))


def _service_settings(services: Mapping[str, Any], prefix: KeyPath) -> Iterator[Setting]:
    for name, service in services.items():
        upper = name.upper()
        yield Setting((*prefix, name, "port"), f"PORT_{upper}", f"Port of the {name} service", None)
        for variable in (service or {}).get("variables") or {}:
            description = f"{variable} of the {name} service"
            yield Setting(
                (*prefix, name, "variables", variable), f"{upper}_{variable}", description, None
            )


def duplicate_variables(profile: Profile) -> list[Problem]:
    """Two settings that would write the same variable (a service or composed variable can
    clash)."""
    seen: dict[str, KeyPath] = {}
    problems = []
    composed = [
        Setting(("composed", name), name, "", None) for name in profile.data.get("composed") or {}
    ]
    for setting in itertools.chain(settings(profile.data), composed):  # one at a time: 100,000s
        if setting.env in seen:
            location = profile.locations.get(setting.path) or Location(profile.file, 1)
            first = format_key_path(seen[setting.env])
            message = f"gives the variable {setting.env}, which {first} gives already"
            problems.append(
                Problem(location.file, location.line, format_key_path(setting.path), message)
            )
        seen.setdefault(setting.env, setting.path)
    return problems


def unconfigured_stores(profile: Profile) -> list[Problem]:
    """References to a kind of store that secrets.stores does not configure."""
    stores = profile.data["secrets"]["stores"]
    problems = []
    for path in secret_paths():
        value = value_at_path(profile.data, path)
        kind = next(
            (kind for kind in STORE_KINDS if isinstance(value, dict) and kind in value), None
        )
        if kind and kind not in stores:
            location = profile.locations.get(path) or Location(profile.file, 1)
            message = (
                f"reads from {STORE_KINDS[kind].product}, but secrets.stores has no '{kind}' "
                "store (configure it once in _base.yaml: its External Secrets store)"
            )
            problems.append(Problem(location.file, location.line, format_key_path(path), message))
    return problems


def secret_paths() -> list[KeyPath]:
    """Where the schema's secrets are, variables and files (a service's variables are never
    secret)."""
    return [setting.path for setting in settings() if setting.secret_kind] + list(SECRET_FILES)


def value_at_path(data: Any, path: KeyPath) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _across_settings(profile: Profile) -> list[Problem]:
    """What no single setting's rules can see: clashing variables, stores not configured,
    composed variables that name what is not there."""
    return duplicate_variables(profile) + unconfigured_stores(profile) + composed_problems(profile)


def composed_problems(profile: Profile) -> list[Problem]:
    from .composed import check_templates

    composed = profile.data.get("composed") or {}
    if not composed:
        return []
    secret_of = {setting.path: bool(setting.secret_kind) for setting in settings(profile.data)}
    problems = []
    for path, message in check_templates(composed, secret_of):
        location = profile.locations.get(path) or where_to_add(profile, path)
        problems.append(Problem(location.file, location.line, format_key_path(path), message))
    return problems


class _FiniteNumberType(type):
    def __instancecheck__(cls, value: Any) -> bool:
        return isinstance(value, int | float) and math.isfinite(value)


class FiniteNumber(metaclass=_FiniteNumberType):
    """isinstance() is true for an int or a float that is neither NaN nor infinite: YAML's
    `.nan` and `.inf` are floats, and no reader of the output (docker compose, kubectl) takes
    them where a number is expected."""


# The types the schema names, as cerberus's TypeDefinition spells them (included, excluded):
# cerberus counts True as an integer (bool subclasses int); a port of `true` is a mistake.
TYPES = {
    "string": TypeDefinition("string", (str,), ()),
    "integer": TypeDefinition("integer", (int,), (bool,)),
    "number": TypeDefinition("number", (FiniteNumber,), (bool,)),
    "boolean": TypeDefinition("boolean", (bool,), ()),
    "dict": TypeDefinition("dict", (Mapping,), ()),
    "list": TypeDefinition("list", (Sequence,), (str,)),
}


def _is_reference_or_text(value: Any) -> bool:
    return not isinstance(value, dict) or reference_problem(value) is None


# The schema's own checks (cerberus's check_with), for the predicate and the validator alike.
CHECKS: dict[str, Callable[[Any], bool]] = {"secret": _is_reference_or_text}

# A valid profile is vouched for by a predicate compiled from the rules (mantis_render.precheck):
# cerberus, its import and its 9 ms on the shipped profiles, only explain an invalid one.
_ROOT_RULES: dict[str, Any] = {"type": "dict", "schema": PROFILE_SCHEMA}
_PROFILE_PREDICATE = compile_rules(_ROOT_RULES, TYPES, CHECKS)


def validate_profile(profile: Profile) -> list[Problem]:
    """Every way ``profile`` breaks the schema, one problem each, sorted by file and line (the
    first PROBLEM_LIMIT of them, and a count of the rest)."""
    # Unknown keys are found in one walk and taken out before cerberus sees the data: cerberus
    # would build an error object (and more) for each, and a file may hold a million of them.
    unknown = list(_unknown_keys(profile.data, _ROOT_RULES, ()))
    if not unknown and vouches(_PROFILE_PREDICATE, profile.data):
        return _across_settings(profile)
    from .schema_problems import cerberus_problems

    data = _without(profile.data, unknown) if unknown else profile.data
    errors = cerberus_problems(profile, data)
    if not errors and not unknown:
        return _across_settings(profile)
    found = (_unknown_key_problem(path, profile) for path in unknown)
    problems = first_problems([*errors, *found])
    # Suggestions only for the problems shown: difflib is slow, and a typo has few siblings.
    shown = {problem.key for problem in problems if problem.message == "unknown key"}
    paths = {key: path for path in unknown if (key := format_key_path(path)) in shown}
    return [_with_suggestion(problem, paths.get(problem.key)) for problem in problems]


def _unknown_keys(value: Any, rules: Mapping[str, Any], path: KeyPath) -> Iterator[KeyPath]:
    """The key paths of ``value`` that its cerberus ``rules`` do not name."""
    if isinstance(value, dict) and rules.get("type") == "dict":
        fields = rules.get("schema")
        if fields is not None:
            for key, item in value.items():
                if key in fields:
                    yield from _unknown_keys(item, fields[key], (*path, key))
                else:
                    yield (*path, key)
        elif "valuesrules" in rules:
            for key, item in value.items():
                yield from _unknown_keys(item, rules["valuesrules"], (*path, key))
    elif isinstance(value, list) and rules.get("type") == "list" and "schema" in rules:
        for index, item in enumerate(value):
            yield from _unknown_keys(item, rules["schema"], (*path, index))


def _without(data: Any, paths: list[KeyPath]) -> Any:
    """A copy of ``data`` without the keys at ``paths`` (copied only along those paths)."""
    copied: dict[KeyPath, Any] = {(): dict(data)}
    for path in paths:
        node = copied[()]
        for depth in range(1, len(path)):
            prefix = path[:depth]
            if prefix not in copied:
                inner = node[path[depth - 1]]
                copied[prefix] = dict(inner) if isinstance(inner, dict) else list(inner)
                node[path[depth - 1]] = copied[prefix]
            node = copied[prefix]
        del node[path[-1]]
    return copied[()]


# Settings of earlier versions, and where they are now.
_MOVED = {
    ("secrets", "vault_mount"): "secrets.stores.vault.mount",
    ("secrets", "store_kind"): "secrets.stores.vault.external_secrets.kind",
    ("secrets", "store_name"): "secrets.stores.vault.external_secrets.name",
}


def _unknown_key_problem(path: KeyPath, profile: Profile) -> Problem:
    location = profile.locations.get(path) or where_to_add(profile, path)
    message = "unknown key"
    if path in _MOVED:
        message = f"unknown key; it moved to {_MOVED[path]}"
    elif path[-1] == "<<":
        message = (
            "YAML 1.2 has no merge key '<<'; share settings with extends: in a profile, or "
            "repeat the keys (an alias *name can stand for a whole value)"
        )
    return Problem(location.file, location.line, format_key_path(path), message)


def _with_suggestion(problem: Problem, path: KeyPath | None) -> Problem:
    if problem.message != "unknown key" or path is None:
        return problem
    siblings = list(rules_at(path[:-1]).get("schema", {}))
    close = closest(str(path[-1]), siblings)
    return problem._replace(message=f"unknown key; did you mean '{close}'?") if close else problem


def rules_at(path: KeyPath) -> dict[str, Any]:
    """The cerberus rules of the setting at ``path``."""
    rules: dict[str, Any] = {"schema": PROFILE_SCHEMA}
    for part in path:
        if isinstance(part, int):
            rules = rules.get("schema", {})
        elif "valuesrules" in rules and "schema" not in rules:  # a mapping of any keys (services)
            rules = rules["valuesrules"]
        else:
            rules = rules.get("schema", {}).get(part, {})
    return rules


def where_to_add(profile: Profile, path: KeyPath) -> Location:
    """A missing key belongs in the environment's own file, under its nearest parent there; but
    a part of an entry a profile declares by name (a service, a composed variable) belongs with
    that entry, in the file that declares it (a composed variable of _base.yaml)."""
    own = profile.layers[-1]
    for length in range(len(path) - 1, 0, -1):
        parent = path[:length]
        if parent in own.lines:
            return Location(own.file, own.lines[parent])
        if _declared_by_name(parent):
            for layer in reversed(profile.layers):
                if parent in layer.lines:
                    return Location(layer.file, layer.lines[parent])
    return Location(own.file, 1)


def _declared_by_name(path: KeyPath) -> bool:
    """Whether ``path`` is an entry of a mapping of named entries (services, composed)."""
    rules = rules_at(path[:-1]) if path else {}
    return "valuesrules" in rules and "schema" not in rules

"""The environment's TLS certificate: real certificates (made with cryptography) served from
OpenBao and from a local AWS endpoint, delivered to Kubernetes as a kubernetes.io/tls Secret and
to compose as mounted files, checked against their key and audited for expiry."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .aws_server import LocalAws
from .certificates import certificate_pem, key_pem, new_key, tls_pair
from .conftest import TLS_PAIRS, CliRun, line_of
from .readers import compose_config, kustomize
from .vault_server import DevVault

STAGING = "profiles/staging.yaml"
CERTIFICATE_REFERENCE = "{vault: mantis/staging/tls, key: certificate}"
KEY_REFERENCE = "{vault: mantis/staging/tls, key: private_key}"


def serve_from(project: Path, dev_vault: DevVault, path: str, pair: dict[str, str]) -> str:
    """Point staging's certificate at a new Vault path holding ``pair``."""
    dev_vault.put(path, **pair)
    profile = project / STAGING
    text = profile.read_text()
    text = text.replace("mantis/staging/tls,", f"{path},")
    profile.write_text(text)
    return text


def test_resolved_certificate_is_written_beside_the_env_and_mounted_by_compose(
    project: Path, cli: CliRun, dev_vault: DevVault
) -> None:
    result = cli("render", "staging", env=dev_vault.env())
    assert result.exit_code == 0, result.stderr
    folder = project / "rendered" / "staging"
    pair = TLS_PAIRS["staging"]
    assert (folder / "tls/tls.crt").read_text() == pair["certificate"].rstrip("\n") + "\n"
    assert (folder / "tls/tls.key").read_text() == pair["private_key"].rstrip("\n") + "\n"
    for name in ("tls.crt", "tls.key"):
        assert stat.S_IMODE((folder / "tls" / name).stat().st_mode) == 0o600
    assert "BEGIN" not in (folder / ".env").read_text()  # a PEM never goes into a .env line

    model = compose_config(
        folder, [project / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )
    assert model["secrets"] == {
        "mantis-tls-certificate": {
            "name": "mantis-staging_mantis-tls-certificate",
            "file": str(folder / "tls/tls.crt"),
        },
        "mantis-tls-private-key": {
            "name": "mantis-staging_mantis-tls-private-key",
            "file": str(folder / "tls/tls.key"),
        },
    }
    for service in ("ingestion-iiot", "dashboard-api", "rul-prediction"):
        assert model["services"][service]["secrets"] == [
            {"source": "mantis-tls-certificate", "target": "tls.crt"},
            {"source": "mantis-tls-private-key", "target": "tls.key"},
        ]
    assert "secrets" not in model["services"]["postgres"]


def test_kubernetes_gets_a_tls_secret_through_external_secrets(project: Path, cli: CliRun) -> None:
    assert cli("render", "staging", "--no-resolve").exit_code == 0
    objects = {
        item["metadata"]["name"]: item for item in kustomize(project / "rendered/staging/k8s")
    }
    assert objects["mantis-tls"]["kind"] == "ExternalSecret"
    assert objects["mantis-tls"]["spec"] == {
        "refreshInterval": "1h",
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault-backend"},
        "target": {
            "name": "mantis-tls",
            "creationPolicy": "Owner",
            "template": {"type": "kubernetes.io/tls"},
        },
        "data": [
            {
                "secretKey": "tls.crt",
                "remoteRef": {"key": "mantis/staging/tls", "property": "certificate"},
            },
            {
                "secretKey": "tls.key",
                "remoteRef": {"key": "mantis/staging/tls", "property": "private_key"},
            },
        ],
    }
    assert cli("verify", "staging").exit_code == 0


def test_a_key_that_is_not_the_certificates_stops_the_render(
    project: Path, cli: CliRun, dev_vault: DevVault
) -> None:
    pair = tls_pair(["*.staging.mantis.internal"])
    pair["private_key"] = key_pem(new_key())
    text = serve_from(project, dev_vault, "mantis/staging/tls-mismatch", pair)
    result = cli("render", "staging", env=dev_vault.env())
    assert result.exit_code == 1
    assert result.stderr == (
        f"{STAGING}:{line_of(text, 'tls-mismatch, key: private_key')}: tls.private_key: tls.key "
        "is not the key of the certificate (tls.certificate): their public keys differ\n"
    )
    assert not (project / "rendered" / "staging").exists()


def test_text_that_is_no_certificate_or_no_key_is_named_without_quoting_it(
    project: Path, cli: CliRun, dev_vault: DevVault
) -> None:
    text = serve_from(
        project,
        dev_vault,
        "mantis/staging/tls-garbage",
        {"certificate": "Sup3r-not-a-certificate", "private_key": "Sup3r-not-a-key"},
    )
    result = cli("render", "staging", env=dev_vault.env())
    assert result.exit_code == 1
    assert result.stderr == (
        f"{STAGING}:{line_of(text, 'tls-garbage, key: certificate')}: tls.certificate: tls.crt "
        "is not a PEM certificate (-----BEGIN CERTIFICATE-----)\n"
    )
    pair = tls_pair(["*.staging.mantis.internal"])
    dev_vault.put(
        "mantis/staging/tls-garbage", certificate=pair["certificate"], private_key="Sup3r"
    )
    result = cli("render", "staging", env=dev_vault.env())
    assert result.stderr == (
        f"{STAGING}:{line_of(text, 'tls-garbage, key: private_key')}: tls.private_key: tls.key "
        "is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)\n"
    )


@pytest.mark.parametrize(
    ("expires_in_days", "renew_before", "status", "exit_code"),
    [(-3, None, "overdue", 1), (10, None, "due", 1), (10, 7, "ok", 0), (200, None, "ok", 0)],
)
def test_audit_reports_the_certificate_and_its_days_to_expiry(
    project: Path,
    cli: CliRun,
    dev_vault: DevVault,
    expires_in_days: int,
    renew_before: int | None,
    status: str,
    exit_code: int,
) -> None:
    key = new_key()
    certificate = certificate_pem(
        ["*.staging.mantis.internal", "mantis.staging.example.com"], key, expires_in_days + 0.5
    )
    path = f"mantis/staging/tls-{expires_in_days}-{renew_before}"
    serve_from(project, dev_vault, path, {"certificate": certificate, "private_key": key_pem(key)})
    if renew_before is not None:
        profile = project / STAGING
        profile.write_text(profile.read_text() + f"  renew_before_days: {renew_before}\n")
    result = cli("secrets", "audit", "staging", "--format", "json", env=dev_vault.env())
    assert result.exit_code == exit_code, result.stderr
    expires = (datetime.now(UTC) + timedelta(days=expires_in_days + 0.5)).date().isoformat()
    assert json.loads(result.stdout)["certificate"] == {
        "subject": "CN=*.staging.mantis.internal",
        "hosts": ["*.staging.mantis.internal", "mantis.staging.example.com"],
        "expires": expires,
        "days_left": expires_in_days,
        "renew_before_days": renew_before or 30,
        "status": status,
    }


def test_audit_as_of_a_later_date_finds_the_certificate_due(
    cli: CliRun, dev_vault: DevVault
) -> None:
    later = (datetime.now(UTC) + timedelta(days=340)).strftime("%Y-%m-%d")
    result = cli("secrets", "audit", "staging", "--as-of", later, env=dev_vault.env())
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].split()[-3:] == ["25d", "30d", "due"]


def test_development_may_hold_a_literal_certificate_as_a_plain_tls_secret(
    project: Path, cli: CliRun
) -> None:
    pair = tls_pair(["localhost"])
    profile = project / "profiles/development.yaml"
    profile.write_text(
        profile.read_text()
        + "tls:\n"
        + f"  certificate: {json.dumps(pair['certificate'])}\n"
        + f"  private_key: {json.dumps(pair['private_key'])}\n"
    )
    result = cli("render", "development")
    assert result.exit_code == 0, result.stderr
    folder = project / "rendered/development"
    objects = {item["metadata"]["name"]: item for item in kustomize(folder / "k8s")}
    assert objects["mantis-tls"]["kind"] == "Secret"
    assert objects["mantis-tls"]["type"] == "kubernetes.io/tls"
    assert objects["mantis-tls"]["stringData"] == {
        "tls.crt": pair["certificate"],
        "tls.key": pair["private_key"],
    }
    assert (folder / "tls/tls.key").read_text() == pair["private_key"]


def test_a_literal_certificate_outside_development_is_refused(project: Path, cli: CliRun) -> None:
    profile = project / STAGING
    pair = TLS_PAIRS["staging"]
    text = profile.read_text().replace(CERTIFICATE_REFERENCE, json.dumps(pair["certificate"]))
    text = text.replace(KEY_REFERENCE, json.dumps(pair["private_key"]))
    profile.write_text(text)
    result = cli("validate", "staging")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{STAGING}:{line_of(text, needle)}: {key}: a literal secret is allowed in the "
        "development tier only; use a reference like {vault: mantis/<env>/<service>, key: "
        "password} [secrets-are-references]"
        for needle, key in (
            ("BEGIN CERTIFICATE", "tls.certificate"),
            ("BEGIN PRIVATE", "tls.private_key"),
        )
    ]
    assert pair["private_key"] not in result.output + result.stderr


def test_the_certificate_may_come_from_aws_secrets_manager(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws
) -> None:
    pair = tls_pair(["*.staging.mantis.internal"])
    local_aws.client.create_secret(Name="mantis/staging/tls", SecretString=json.dumps(pair))
    profile = project / STAGING
    text = profile.read_text()
    text = text.replace(CERTIFICATE_REFERENCE, "{aws: mantis/staging/tls, key: certificate}")
    text = text.replace(KEY_REFERENCE, "{aws: mantis/staging/tls, key: private_key}")
    profile.write_text(text)
    result = cli("render", "staging", env={**dev_vault.env(), **local_aws.env()})
    assert result.exit_code == 0, result.stderr
    folder = project / "rendered/staging"
    assert (folder / "tls/tls.crt").read_text() == pair["certificate"]
    document = yaml.safe_load((folder / "k8s/tls-externalsecret.yaml").read_text())
    assert document["spec"]["secretStoreRef"]["name"] == "aws-secrets-manager"
    assert pair["private_key"] not in result.output + result.stderr


def _with_unknown_key_algorithm(certificate: str) -> str:
    """``certificate`` with its public key's algorithm made an OID no library knows (the
    id-ecPublicKey OID's last arc changed; same length, so no DER length changes). Loading a
    certificate does not check its signature, so it loads; reading its key does not."""
    der = x509.load_pem_x509_certificate(certificate.encode()).public_bytes(
        serialization.Encoding.DER
    )
    ec_public_key = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
    assert der.count(ec_public_key) == 1
    changed = der.replace(ec_public_key, bytes.fromhex("06072a8648ce3d027f"))
    body = base64.encodebytes(changed).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (
            lambda pair: {**pair, "certificate": _with_unknown_key_algorithm(pair["certificate"])},
            "tls.crt has a public key of an algorithm that cannot be read here; a TLS "
            "certificate's key is RSA, ECDSA, Ed25519 or Ed448",
        ),
        (
            lambda pair: {**pair, "certificate": pair["certificate"] + pair["private_key"]},
            "tls.crt holds a private key beside the certificate: the key must never land in "
            "tls.crt; store the certificate (and its chain) alone, and the key as tls.private_key",
        ),
        (
            lambda pair: {**pair, "certificate": pair["private_key"] + pair["certificate"]},
            "tls.crt holds a private key beside the certificate: the key must never land in "
            "tls.crt; store the certificate (and its chain) alone, and the key as tls.private_key",
        ),
    ],
    ids=["unknown key algorithm", "key after the certificate", "key before the certificate"],
)
@pytest.mark.parametrize("command", [("render", "staging"), ("secrets", "audit", "staging")])
def test_a_certificate_that_cannot_be_used_is_one_line_and_nothing_is_written(
    project: Path,
    cli: CliRun,
    dev_vault: DevVault,
    make: Callable[[dict[str, str]], dict[str, str]],
    said: str,
    command: tuple[str, ...],
) -> None:
    pair = make(tls_pair(["*.staging.mantis.internal"]))
    path = f"mantis/staging/tls-unusable-{abs(hash(said))}"
    text = serve_from(project, dev_vault, path, pair)
    line = line_of(text, f"{path}, key: certificate")
    result = cli(*command, env=dev_vault.env())
    where = f"{STAGING}:{line}: tls.certificate: "
    if command[0] == "secrets":  # the audit names the reference it read
        where += f"tls.crt (vault:{path}#certificate): "
    assert (result.exit_code, result.stderr) == (1, f"{where}{said}\n")
    assert "PRIVATE KEY" not in result.stdout
    assert not (project / "rendered").exists()

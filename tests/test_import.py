"""mantis-render import: a repository's env files become a catalogue and profiles that render
the same values, read as python-dotenv reads them, and every oddity reported with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mantis_render.adopt.envfiles import read_env_file
from mantis_render.cli import main
from tests.readers import read_with_bash, read_with_compose, read_with_python_dotenv

ENVIRONMENTS = ("development", "staging", "production")
SERVICES = ("ingestion", "preprocessing", "features", "anomaly", "rul", "orchestrator", "dashboard")
STORES = {  # prefix: (dev port, stage/prod port)
    "POSTGRES": 5432,
    "TIMESCALEDB": 5433,
    "REDIS": 6379,
    "MINIO": 9000,
    "INFLUXDB": 8086,
    "GRAFANA": 3000,
}


def env_file_lines(environment: str) -> list[str]:
    """A realistic .env of about 130 variables, with every oddity real ones have."""
    dev = environment == "development"
    domain = "localhost" if dev else f"{environment}.mantis.internal"
    lines = [f"# MANTIS — {environment}", f"ENVIRONMENT={environment}", ""]
    lines += [f"LOG_LEVEL={'DEBUG' if dev else 'WARNING'}", f"DEBUG={'true' if dev else 'false'}"]
    for prefix, port in STORES.items():
        lower = prefix.lower()
        host = "localhost" if dev else f"{lower}.{domain}"
        lines += [
            f"{prefix}_HOST={host}",
            f"{prefix}_PORT={port}",
            f"{prefix}_USER=mantis",
            f"{prefix}_TIMEOUT_MS={1000 if dev else 5000}",
            f"{prefix}_POOL_SIZE={5 if dev else 20}",
            f"{prefix}_SSL_ENABLED={'false' if dev else 'true'}",
        ]
        if dev:
            lines.append(f"{prefix}_PASSWORD={lower}-dev-Pa55:@/{len(prefix)}")
        elif prefix == "REDIS":  # a literal secret where a reference belongs
            lines.append(f"{prefix}_PASSWORD=literal-{environment}-redis-secret")
        else:
            lines.append(f"{prefix}_PASSWORD=<CHANGE_ME_STRONG_PASSWORD>")
    lines += [
        "POSTGRES_DB=mantis" + ("_dev" if dev else f"_{environment}"),
        # a URL holding the password: as written in development, a placeholder elsewhere
        "DATABASE_URL=postgresql://mantis:"
        + ("postgres-dev-Pa55%3A%40%2F8" if dev else "<PASSWORD>")
        + f"@{'localhost' if dev else 'postgres.' + domain}:5432/mantis"
        + ("_dev" if dev else f"_{environment}"),
        "REDIS_URL=redis://${REDIS_HOST}:${REDIS_PORT}/0",
        "KAFKA_BOOTSTRAP_SERVERS=" + ("localhost:9092" if dev else f"kafka-0.{domain}:9092"),
        "KAFKA_PARTITIONS=" + ("1" if dev else "6"),
        "KAFKA_REPLICATION_FACTOR=" + ("1" if dev else "3"),
    ]
    for service in SERVICES:
        upper = service.upper()
        lines += [
            f"{upper}_PORT={8000 + SERVICES.index(service)}",
            f"{upper}_REPLICAS={1 if dev else 3}",
            f"{upper}_INPUT_TOPIC={service}-in",
            f"{upper}_OUTPUT_TOPIC={service}-out",
            f"{upper}_CONSUMER_GROUP={service}-group",
            f"{upper}_BATCH_SIZE={100 if dev else 500}",
            f"{upper}_THRESHOLD={'0.05' if dev else '0.01'}",
            f"{upper}_CACHE_TTL_S=60",
            f"{upper}_FEATURE_FLAGS=a,b,c",
            f"{upper}_ENABLED=true",
        ]
    lines += [
        "RUL_WINDOW_SIZE=" + ("64  # smaller in dev" if dev else "256"),
        "JAVA_OPTS=-Xms256m -Xmx1g" if dev else 'JAVA_OPTS="-Xms1g -Xmx4g"',
        "MQTT_USERNAME=" if dev else "MQTT_USERNAME=mantis",
        "MQTT_PASSWORD=" + ("mqtt-dev-secret" if dev else "<VAULT_SECRET>"),
        "KMS_KEY_ID=" + ("local" if dev else "<KMS_KEY_ID>"),
        "JWT_SECRET=" + ("dev-jwt-0123456789abcdef" if dev else "<VAULT_SECRET>"),
        "# KAFKA_GROUP_ID=mantis-group",
        "GREETING='Welcome to MANTIS'",
        f"LOG_LEVEL={'DEBUG' if dev else 'ERROR'}",  # set twice: the second wins
    ]
    if not dev:  # a section only staging and production have
        lines += ["SENTRY_DSN=https://sentry.example.com/1", "SENTRY_SAMPLE_RATE=0.25"]
    return lines


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    root = tmp_path / "adopted"
    root.mkdir()
    for environment in ENVIRONMENTS:
        (root / f".env.{environment}").write_text("\n".join(env_file_lines(environment)) + "\n")
    return root


def run(root: Path, *arguments: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--root", str(root), *arguments], catch_exceptions=False)


SOURCES = [f"{environment}=.env.{environment}" for environment in ENVIRONMENTS]


def test_the_fixture_is_as_large_as_real_files(repository: Path) -> None:
    for environment in ENVIRONMENTS:
        values = read_with_python_dotenv(repository / f".env.{environment}")
        assert 100 <= len(values) <= 200


def test_import_then_render_gives_back_every_value(repository: Path) -> None:
    result = run(repository, "import", *SOURCES)
    assert result.exit_code == 0, result.output
    assert run(repository, "render", "development").exit_code == 0

    original = read_with_python_dotenv(repository / ".env.development")
    rendered = read_with_python_dotenv(repository / "rendered/development/.env")
    assert {name: rendered.get(name) for name in original} == original

    for environment in ("staging", "production"):
        rendered_result = run(repository, "render", environment, "--no-resolve")
        assert rendered_result.exit_code in (0, 1), rendered_result.output
        # what an environment with secrets in Vault renders: .env.example (no secret) and the
        # ExternalSecret (the references)
        run(repository, "--quiet", "render", environment, "--no-resolve")
        profile = (repository / f"profiles/{environment}.yaml").read_text()
        original = read_with_python_dotenv(repository / f".env.{environment}")
        for name, value in original.items():
            if name.endswith(("PASSWORD", "SECRET")) or name == "DATABASE_URL":
                assert str(value) not in profile or value.startswith("<"), name
        assert "literal-" not in profile  # the literal secret became a reference


def test_development_validates_clean_and_others_report_only_policy(repository: Path) -> None:
    assert run(repository, "import", *SOURCES).exit_code == 0

    assert run(repository, "validate", "development").output == "development: valid\n"
    result = CliRunner().invoke(
        main, ["--root", str(repository), "validate", "staging"], catch_exceptions=False
    )
    lines = result.stderr.splitlines() if result.stderr_bytes else []
    assert lines, result.output
    assert all(line.endswith("[no-placeholders]") for line in lines), lines
    assert any("kms_key_id" in line for line in lines)


def test_staging_renders_its_values_and_references(repository: Path) -> None:
    """Every non-secret value of staging, exact in .env.example; each secret a reference."""
    import yaml

    assert run(repository, "import", *SOURCES).exit_code == 0
    profile = yaml.safe_load((repository / "profiles/staging.yaml").read_text())
    # waive the one real finding, to render
    profile["waivers"] = [{"rule": "no-placeholders", "reason": "the KMS key id comes later"}]
    (repository / "profiles/staging.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    result = run(repository, "render", "staging", "--no-resolve")
    assert result.exit_code == 0, result.output

    original = read_with_python_dotenv(repository / ".env.staging")
    example = read_with_python_dotenv(repository / "rendered/staging/.env.example")
    secrets = {
        "POSTGRES_PASSWORD", "TIMESCALEDB_PASSWORD", "REDIS_PASSWORD", "MINIO_PASSWORD",
        "INFLUXDB_PASSWORD", "GRAFANA_PASSWORD", "MQTT_PASSWORD", "JWT_SECRET", "DATABASE_URL",
    }  # fmt: skip
    for name, value in original.items():
        if name == "ENVIRONMENT":
            assert example[name] == "staging"
        elif name in secrets:
            assert example[name] == "", name
        else:
            assert example[name] == value, name
    external = (repository / "rendered/staging/k8s/externalsecret.yaml").read_text()
    assert 'key: "adopted/staging/redis"' in external
    assert 'property: "password"' in external


def test_the_report_says_each_oddity_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "dev.env").write_text(
        "API_HOST=localhost\n"
        "API_PORT=8080\n"
        "JAVA_OPTS=-Xms256m -Xmx1g\n"
        "# OLD_NAME=x\n"
        "API_PORT=8081\n"
        "KMS_KEY_ID=<KMS_KEY_ID>\n"
    )
    (tmp_path / "prod.env").write_text(
        "API_HOST=api.example.com\n"
        "API_PORT=8081\n"
        "API_TOKEN=tok-literal-1234\n"
        "KMS_KEY_ID='<KMS_KEY_ID>'\n"
    )

    result = run(tmp_path, "import", "development=dev.env", "production=prod.env")

    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines() if line.endswith("]")] == [
        "dev.env:3: JAVA_OPTS: only in development: optional (required: false) [import-partial]",
        "dev.env:3: JAVA_OPTS: readers disagree: python-dotenv reads it as imported; bash runs "
        "'-Xmx1g' as a command, with JAVA_OPTS set for it only [import-readers-differ]",
        "dev.env:4: OLD_NAME: commented out: no reader reads it; not imported [import-commented]",
        "dev.env:5: API_PORT: set twice (lines 2 and 5): python-dotenv, bash and docker compose "
        "take line 5 [import-duplicate]",
        "dev.env:6: KMS_KEY_ID: a placeholder in a variable that does not look secret: kept as "
        "written [import-placeholder]",
        "dev.env:6: KMS_KEY_ID: readers disagree: python-dotenv reads it as imported; bash reads "
        "< or > in it as a redirection: `source` stops at this line when no such file exists, "
        "and reads no line after it [import-readers-differ]",
        "prod.env:3: API_TOKEN: a literal secret: imported as a Vault reference (the value is "
        "not written) [import-literal-secret]",
        "prod.env:3: API_TOKEN: only in production: optional (required: false) [import-partial]",
        "prod.env:4: KMS_KEY_ID: a placeholder in a variable that does not look secret: kept as "
        "written [import-placeholder]",
    ]
    assert "tok-literal-1234" not in result.output
    assert "tok-literal-1234" not in "".join(
        path.read_text() for path in (tmp_path / "profiles").iterdir()
    )


def test_json_dry_run_force_and_twice_the_same(repository: Path) -> None:
    dry = run(repository, "import", "--dry-run", "--format", "json", *SOURCES)
    assert dry.exit_code == 0
    document = json.loads(dry.stdout)
    assert document["written"] is False
    assert "profiles/_catalogue.yaml" in document["files"]
    assert {f["rule"] for f in document["findings"]} >= {
        "import-duplicate",
        "import-readers-differ",
        "import-commented",
        "import-literal-secret",
        "import-partial",
        "import-placeholder",
    }
    assert not (repository / "profiles").exists()

    assert run(repository, "import", *SOURCES).exit_code == 0
    first = {p: p.read_bytes() for p in (repository / "profiles").iterdir()}
    (repository / "profiles/staging.yaml").write_text("# mine\n")

    again = run(repository, "import", *SOURCES)
    assert again.exit_code == 1
    assert again.stderr.endswith("; nothing written: import again with --force to overwrite\n"), (
        again.stderr
    )
    assert (repository / "profiles/staging.yaml").read_text() == "# mine\n"

    assert run(repository, "import", "--force", *SOURCES).exit_code == 0
    assert {p: p.read_bytes() for p in (repository / "profiles").iterdir()} == first


def test_usage_and_unreadable_files(tmp_path: Path) -> None:
    assert run(tmp_path, "import", "staging").exit_code == 2
    result = run(tmp_path, "import", "staging=missing.env")
    assert result.exit_code == 1
    assert result.stderr == "missing.env: cannot be read: No such file or directory\n"
    assert not (tmp_path / "profiles").exists()


def test_every_line_the_report_passes_reads_alike_in_all_three_readers(repository: Path) -> None:
    """The real readers: for each line import says nothing about, bash `source`, python-dotenv
    and docker compose read the same value; for each it flags, one of them differs."""
    for environment in ENVIRONMENTS:
        path = repository / f".env.{environment}"
        read = read_env_file(path.name, path.read_text())
        names = list(read.values())
        dotenv = read_with_python_dotenv(path)
        bash = read_with_bash(path, names)
        compose = read_with_compose(path)
        stopped = False  # bash reads no line after one it stops at (import says where)
        for entry in read.entries:
            if stopped:
                continue
            name = entry.name
            if read.values()[name] is not entry:  # set again later: the last one is compared
                continue
            agree = dotenv[name] == bash[name] == compose.get(name)
            assert agree == (not entry.differs), (environment, name, entry.differs)
            stopped = any("stops at this line" in differ for differ in entry.differs)


LINE_VALUES = st.text(
    st.one_of(st.sampled_from(list("ab $#'\"\\{}=:-_ ")), st.characters(categories=("L", "N"))),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.sampled_from(["", "'", '"']), LINE_VALUES), min_size=1, max_size=15
    )
)
def test_the_reader_reads_as_python_dotenv(tmp_path_factory, values) -> None:  # type: ignore[no-untyped-def]
    """Whatever the line, import's reader gives python-dotenv's value (or both skip it)."""
    from dotenv import dotenv_values

    lines = [f"V{index}={quote}{text}{quote}" for index, (quote, text) in enumerate(values)]
    path = tmp_path_factory.mktemp("lines") / "generated.env"
    path.write_text("\n".join(lines) + "\n")
    expected = dict(dotenv_values(path))
    ours = {
        name: entry.value for name, entry in read_env_file("g", path.read_text()).values().items()
    }
    assert ours == expected


def test_the_readme_transcript_is_what_a_real_run_prints(tmp_path: Path) -> None:
    """README "Adopting an existing repository", run on the files it describes."""
    from tests.conftest import REPO

    root = tmp_path / "plant"
    root.mkdir()
    (root / ".env.example").write_text(
        "POSTGRES_HOST=localhost\nPOSTGRES_PORT=5432\nPOSTGRES_PASSWORD=dev-Pa55\n"
        "DATABASE_URL=postgresql://mantis:dev-Pa55@localhost:5432/mantis\n"
        "JAVA_OPTS=-Xms256m -Xmx1g\nRUL_WINDOW_SIZE=64  # smaller in dev\n"
        "LOG_LEVEL=DEBUG\nLOG_LEVEL=INFO\n"
    )
    (root / ".env.staging").write_text(
        "POSTGRES_HOST=postgres.staging.internal\nPOSTGRES_PORT=5432\n"
        "POSTGRES_PASSWORD=<CHANGE_ME_STRONG_PASSWORD>\n"
        "DATABASE_URL=postgresql://mantis:<PASSWORD>@postgres.staging.internal:5432/mantis\n"
        'JAVA_OPTS="-Xms1g -Xmx4g"\nRUL_WINDOW_SIZE=256\nLOG_LEVEL=WARNING\n'
    )
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Adopting an existing repository") :]
    block = section.split("```console\n", 1)[1].split("```\n", 1)[0].splitlines()
    printed = []
    for command in [line for line in block if line.startswith("$ ")]:
        for part in command[2:].split(" && "):
            arguments = part.split()[1:]  # after "mantis-render"
            result = CliRunner().invoke(
                main, ["--root", str(root), *arguments], catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
            printed += [line.replace(f"{root}/", "") for line in result.output.splitlines()]
    assert printed == [line for line in block if not line.startswith("$ ")]
    staging = (root / "profiles/staging.yaml").read_text()
    assert (
        "template: postgresql://mantis:{postgres.password|urlencode}@postgres.staging.internal:5432/mantis"
        in staging
    )


def test_bad_input_is_one_line_and_nothing_written(tmp_path: Path) -> None:
    (tmp_path / "latin1.env").write_bytes(b"A=1\nB=caf\xe9\n")
    result = run(tmp_path, "import", "development=latin1.env")
    assert result.exit_code == 1
    assert result.stderr == "latin1.env:2: not UTF-8 text (invalid continuation byte)\n"
    (tmp_path / "folder.env").mkdir()
    result = run(tmp_path, "import", "--format", "json", "development=folder.env")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "problems": ["folder.env: cannot be read: Is a directory"],
        "written": False,
    }
    assert run(tmp_path, "import", "development=a.env", "development=b.env").exit_code == 2
    assert run(tmp_path, "import", "Staging=a.env").exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.env", "latin1.env"]


def test_a_value_no_output_can_carry_is_said_and_the_rest_imported(tmp_path: Path) -> None:
    (tmp_path / "dev.env").write_text('GREETING="a\\x00b"\nNAME=plant\n'.replace("\\x00", "\0"))
    result = run(tmp_path, "import", "development=dev.env")
    assert result.exit_code == 0, result.output
    checks = [line for line in result.stdout.splitlines() if line.endswith("[import-check]")]
    assert len(checks) == 1 and checks[0].startswith("dev.env: greeting: cannot be written to")

"""docker-compose.yml, .env.example and the settings code agree with each other and with the specification.

No Docker is needed: the compose file is read as YAML, its ``${VAR:-default}`` interpolation is resolved here
the way Compose does it, and the resulting environment is fed to the settings code.
"""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# The specification: service names, ports and the `.env` defaults of its three databases.
DATABASE_SERVICES = {
    "metadata-postgres": {"prefix": "METADATA_POSTGRES", "container_port": 5432, "host_port": 5432},
    "staging-postgres": {"prefix": "STAGING_POSTGRES", "container_port": 5432, "host_port": 5433},
    "target-clickhouse": {"prefix": "TARGET_CLICKHOUSE", "container_port": 8123, "host_port": 8123},
}
APP_SERVICES = ("web", "worker", "beat")
ALL_SERVICES = {*DATABASE_SERVICES, "redis", *APP_SERVICES}
SPEC_DEFAULTS = {
    "METADATA_POSTGRES": {"USER": "metadata_user", "PASSWORD": "metadata_password", "DATABASE": "etl_metadata"},
    "STAGING_POSTGRES": {"USER": "staging_user", "PASSWORD": "staging_password", "DATABASE": "etl_staging"},
    "TARGET_CLICKHOUSE": {"USER": "default", "PASSWORD": "", "DATABASE": "etl_target"},
}
SPEC_VARIABLES = [
    f"{prefix}_{field}" for prefix in SPEC_DEFAULTS for field in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE")
]
# The variables the compose file requires; tests supply dummy values (a well-formed Fernet key).
REQUIRED = {"DJANGO_SECRET_KEY": "compose-test-secret-key",
            "ETL_SECRETS_KEY": "cw_0x689RpI-jtRR7oE8h59Q_pO25IFO-2aYuVRCgrA="}


# --- Compose interpolation ------------------------------------------------------------------------------

class MissingVariable(Exception):
    pass


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    rf"|\{{(?P<braced>{_NAME})(?:(?P<op>:?[-?+])(?P<arg>(?:[^{{}}]|\{{[^{{}}]*\}})*))?\}}"
    rf"|(?P<bare>{_NAME}))"
)


def interpolate(value, environ: dict):
    """Resolve ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``,
    ``${VAR?error}``, ``${VAR:+alt}`` and ``${VAR+alt}`` as Compose does, in every string of `value`."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        is_set = name in environ
        is_nonempty = bool(environ.get(name))
        if op in (":-", "-"):
            return environ[name] if (is_nonempty if op == ":-" else is_set) else interpolate(arg, environ)
        if op in (":?", "?"):
            if not (is_nonempty if op == ":?" else is_set):
                raise MissingVariable(f"{name}: {arg}")
            return environ[name]
        if op in (":+", "+"):
            return interpolate(arg, environ) if (is_nonempty if op == ":+" else is_set) else ""
        return environ.get(name, "")

    return _INTERPOLATION.sub(substitute, value)


def interpolated_names(value) -> set[str]:
    """Every variable a compose value refers to (``$$`` escapes excluded, defaults included)."""
    if isinstance(value, dict):
        return set().union(set(), *(interpolated_names(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(set(), *(interpolated_names(item) for item in value))
    if not isinstance(value, str):
        return set()
    names = set()
    for match in _INTERPOLATION.finditer(value):
        if not match["escaped"]:
            names.add(match["braced"] or match["bare"])
            names |= interpolated_names(match["arg"] or "")
    return names


def load_compose(environ: dict | None = None) -> dict:
    """The compose file resolved against `environ` (default: nothing set but the required secret)."""
    return interpolate(raw_compose(), REQUIRED if environ is None else environ)


def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def environment(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def published_ports(service: dict) -> list[tuple[str, int, int]]:
    """(host_ip, published port, container port) for each entry of `ports`, short or long syntax."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append((entry.get("host_ip", ""), int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        if len(parts) == 3:
            host_ip, published, target = parts
        elif len(parts) == 2:
            host_ip, (published, target) = "", parts
        else:
            continue  # container port only: nothing published on a fixed host port
        result.append((host_ip, int(published), int(target)))
    return result


def mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    result = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            result.append((entry.get("source", ""), entry["target"]))
        else:
            source, _, rest = str(entry).partition(":")
            result.append((source, rest.split(":")[0]))
    return result


def is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$")) and "/" not in source


# --- The compose file ------------------------------------------------------------------------------------

def test_the_specification_services_exist():
    assert ALL_SERVICES <= set(load_compose()["services"])


def test_secret_key_is_required_from_the_environment():
    with pytest.raises(MissingVariable, match="DJANGO_SECRET_KEY"):
        load_compose({})
    with pytest.raises(MissingVariable, match="DJANGO_SECRET_KEY"):
        load_compose({"DJANGO_SECRET_KEY": ""})  # an empty key in .env is not a key


@pytest.mark.parametrize("name", sorted(DATABASE_SERVICES))
def test_databases_are_published_on_the_specification_ports_of_localhost_only(name):
    spec = DATABASE_SERVICES[name]
    ports = published_ports(load_compose()["services"][name])
    assert [(published, target) for _, published, target in ports] == [(spec["host_port"], spec["container_port"])]
    # The specification's security section: restrict access to database ports.
    assert all(host_ip in ("127.0.0.1", "localhost", "::1") for host_ip, _, _ in ports), ports


@pytest.mark.parametrize("name", sorted(ALL_SERVICES))
def test_every_service_has_a_healthcheck(name):
    healthcheck = load_compose()["services"][name].get("healthcheck")
    assert healthcheck and not healthcheck.get("disable"), f"{name} has no healthcheck"
    test = healthcheck["test"]
    assert test and test not in (["NONE"], "NONE")


def test_every_database_keeps_its_data_in_a_declared_named_volume():
    compose = load_compose()
    declared = set(compose.get("volumes") or {})
    data_dirs = {
        "metadata-postgres": "/var/lib/postgresql/data",
        "staging-postgres": "/var/lib/postgresql/data",
        "target-clickhouse": "/var/lib/clickhouse",
        "redis": "/data",
    }
    used = set()
    for name, data_dir in data_dirs.items():
        sources = [source for source, target in mounts(compose["services"][name]) if target == data_dir]
        assert sources and is_named_volume(sources[0]), f"{name}: no named volume at {data_dir}"
        assert sources[0] in declared, f"{name}: volume {sources[0]} is not declared under top-level volumes"
        used.add(sources[0])
    assert len(used) == len(data_dirs), "each server needs its own volume"


def test_app_processes_share_var_in_a_named_volume_at_etl_var_dir():
    compose = load_compose()
    declared = set(compose.get("volumes") or {})
    for name in APP_SERVICES:
        service = compose["services"][name]
        var_dir = environment(service)["ETL_VAR_DIR"]
        sources = {source for source, target in mounts(service) if target == var_dir}
        assert len(sources) == 1 and sources <= declared, f"{name}: {var_dir} is not a declared named volume"
    # Uploads written by web are read by the worker: one volume for all three.
    assert len({source for n in APP_SERVICES for source, _ in mounts(compose["services"][n])}) == 1


def test_app_processes_start_after_healthy_dependencies():
    services = load_compose()["services"]
    for name in APP_SERVICES:
        depends_on = services[name].get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for dependency in (*DATABASE_SERVICES, "redis"):
            assert depends_on.get(dependency, {}).get("condition") == "service_healthy", (name, dependency)
    # Migrations run in web: worker and beat (DatabaseScheduler) wait for it.
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_web_worker_and_beat_share_one_environment_with_the_specification_variables():
    services = load_compose()["services"]
    envs = [environment(services[name]) for name in APP_SERVICES]
    assert envs[0] == envs[1] == envs[2]
    env = envs[0]
    missing = [name for name in SPEC_VARIABLES if name not in env]
    assert not missing, f"missing from the app environment: {missing}"
    for service_name, spec in DATABASE_SERVICES.items():
        prefix = spec["prefix"]
        assert env[f"{prefix}_HOST"] == service_name
        assert env[f"{prefix}_HOST"] in services
        assert int(env[f"{prefix}_PORT"]) == spec["container_port"]
        # The port the application dials is the one the server listens on in its container.
        assert spec["container_port"] in {target for _, _, target in published_ports(services[service_name])}
        for field, value in SPEC_DEFAULTS[prefix].items():
            assert env[f"{prefix}_{field}"] == value, f"{prefix}_{field}"
    assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert env["DJANGO_SECRET_KEY"] == REQUIRED["DJANGO_SECRET_KEY"]
    assert env["DJANGO_DEBUG"].lower() == "false"
    assert env["DJANGO_ALLOWED_HOSTS"]


# Server variable of each database image -> the application variable it must agree with.
SERVER_CREDENTIALS = {
    "metadata-postgres": {"POSTGRES_DB": "DATABASE", "POSTGRES_USER": "USER", "POSTGRES_PASSWORD": "PASSWORD"},
    "staging-postgres": {"POSTGRES_DB": "DATABASE", "POSTGRES_USER": "USER", "POSTGRES_PASSWORD": "PASSWORD"},
    "target-clickhouse": {"CLICKHOUSE_DB": "DATABASE", "CLICKHOUSE_USER": "USER", "CLICKHOUSE_PASSWORD": "PASSWORD"},
}


@pytest.mark.parametrize("name", sorted(SERVER_CREDENTIALS))
def test_database_servers_are_created_with_the_credentials_the_app_uses(name):
    prefix = DATABASE_SERVICES[name]["prefix"]
    # With the defaults...
    resolved = load_compose()["services"]
    server_env, app_env = environment(resolved[name]), environment(resolved["web"])
    for server_var, field in SERVER_CREDENTIALS[name].items():
        assert server_env[server_var] == app_env[f"{prefix}_{field}"] == SPEC_DEFAULTS[prefix][field]
    # ...and when .env overrides them: both sides read the same variable.
    override = {f"{prefix}_{field}": f"custom_{field.lower()}" for field in ("USER", "PASSWORD", "DATABASE")}
    resolved = load_compose({**REQUIRED, **override})["services"]
    server_env, app_env = environment(resolved[name]), environment(resolved["web"])
    for server_var, field in SERVER_CREDENTIALS[name].items():
        assert server_env[server_var] == app_env[f"{prefix}_{field}"] == f"custom_{field.lower()}"


def test_a_host_oriented_env_file_does_not_redirect_the_containers():
    """The same .env serves `manage.py runserver` on the host (HOST=localhost, staging on 5433): inside the
    containers the app still dials the services on their container ports; the host ports follow .env."""
    host_env = {
        **REQUIRED,
        "METADATA_POSTGRES_HOST": "localhost", "METADATA_POSTGRES_PORT": "15432",
        "STAGING_POSTGRES_HOST": "localhost", "STAGING_POSTGRES_PORT": "15433",
        "TARGET_CLICKHOUSE_HOST": "localhost", "TARGET_CLICKHOUSE_PORT": "18123",
        "CELERY_BROKER_URL": "redis://localhost:6379/0", "ETL_VAR_DIR": "/home/dev/var", "DJANGO_DEBUG": "true",
    }
    services = load_compose(host_env)["services"]
    env = environment(services["web"])
    for service_name, spec in DATABASE_SERVICES.items():
        assert env[f"{spec['prefix']}_HOST"] == service_name
        assert int(env[f"{spec['prefix']}_PORT"]) == spec["container_port"]
        published = {p for _, p, _ in published_ports(services[service_name])}
        assert published == {int(host_env[f"{spec['prefix']}_PORT"])}
    assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert env["ETL_VAR_DIR"] == "/app/var"
    assert env["DJANGO_DEBUG"] == "false"


# --- The settings built from the compose environment ---------------------------------------------------

def _apply_compose_environment(monkeypatch) -> dict:
    """Make os.environ what the app containers see: the compose values, and nothing else the settings read."""
    env = environment(load_compose()["services"]["web"])
    for name in settings_reads() - set(env):
        monkeypatch.delenv(name, raising=False)  # e.g. values a developer's .env put into os.environ
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_compose_environment_gives_postgresql_and_clickhouse_server_settings(monkeypatch, tmp_path):
    from etlsite import databases

    _apply_compose_environment(monkeypatch)
    # The same calls as etlsite/settings.py makes.
    metadata = databases.relational("METADATA_POSTGRES", tmp_path, default_port=5432, default_name="etl_metadata",
                                    default_user="metadata_user", default_password="metadata_password")
    staging = databases.relational("STAGING_POSTGRES", tmp_path, default_port=5433, default_name="etl_staging",
                                   default_user="staging_user", default_password="staging_password")
    target = databases.clickhouse(tmp_path)

    assert metadata["ENGINE"] == "django.db.backends.postgresql"
    assert (metadata["HOST"], metadata["PORT"], metadata["NAME"], metadata["USER"], metadata["PASSWORD"]) == (
        "metadata-postgres", 5432, "etl_metadata", "metadata_user", "metadata_password")
    assert staging["ENGINE"] == "django.db.backends.postgresql"
    # 5432 inside the compose network, not the 5433 the host sees.
    assert (staging["HOST"], staging["PORT"], staging["NAME"], staging["USER"], staging["PASSWORD"]) == (
        "staging-postgres", 5432, "etl_staging", "staging_user", "staging_password")
    assert target["EMBEDDED"] is False
    assert (target["HOST"], target["PORT"], target["DATABASE"], target["USER"], target["PASSWORD"]) == (
        "target-clickhouse", 8123, "etl_target", "default", "")
    assert not any(tmp_path.iterdir()), "server mode must not create embedded files"


def _settings_in_subprocess(env: dict) -> dict:
    """Import etlsite.settings in a fresh interpreter with exactly `env` and return its settings as JSON."""
    code = (
        "import json, django\n"
        "django.setup()\n"  # loads the settings and the apps; connects to nothing
        "import etlsite.settings as s\n"
        "out = {k: getattr(s, k) for k in dir(s) if k.isupper() and k != 'SECRET_KEY'}\n"
        "out['SECRET_KEY_IS_SET'] = bool(s.SECRET_KEY)\n"
        "print(json.dumps(out, default=str, sort_keys=True))\n"
    )
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1",
            "DJANGO_SETTINGS_MODULE": "etlsite.settings"}
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env={**base, **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_whole_settings_module_loads_from_the_compose_environment(tmp_path):
    env = environment(load_compose()["services"]["web"])
    env["ETL_VAR_DIR"] = str(tmp_path)  # /app/var does not exist outside the image
    settings = _settings_in_subprocess({**env, "ETL_ENV_FILE": str(tmp_path / "no.env")})
    assert settings["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings["DATABASES"]["default"]["HOST"] == "metadata-postgres"
    assert settings["DATABASES"]["staging"]["HOST"] == "staging-postgres"
    assert settings["DATABASES"]["staging"]["PORT"] == 5432
    assert settings["TARGET_CLICKHOUSE"]["EMBEDDED"] is False
    assert settings["TARGET_CLICKHOUSE"]["HOST"] == "target-clickhouse"
    assert settings["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY_IS_SET"]
    assert not any(tmp_path.iterdir()), "server mode must not write under var/"


def test_copying_env_example_to_env_changes_nothing(tmp_path):
    """`.env.example` shows the defaults: with it as `.env` the settings equal those of an empty environment,
    i.e. the embedded default (PostgreSQL, Valkey and ClickHouse from pip under var/)."""
    var_dir = tmp_path / "var"
    without = _settings_in_subprocess({"ETL_VAR_DIR": str(var_dir), "ETL_ENV_FILE": str(tmp_path / "no.env")})
    with_example = _settings_in_subprocess({"ETL_VAR_DIR": str(var_dir), "ETL_ENV_FILE": str(ENV_EXAMPLE)})
    assert with_example["DATABASES"]["default"]["EMBEDDED"] and with_example["DATABASES"]["staging"]["EMBEDDED"]
    assert with_example["EMBEDDED_BROKER"]
    assert with_example["TARGET_CLICKHOUSE"]["EMBEDDED"] is True
    differences = {k: (without.get(k), with_example.get(k)) for k in without.keys() | with_example.keys()
                   if without.get(k) != with_example.get(k)}
    assert not differences


# --- .env.example and the settings code name the same variables -----------------------------------------

ENV_METHODS = {
    "str", "bool", "int", "float", "decimal", "list", "tuple", "dict", "json", "url", "path", "bytes",
    "db", "db_url", "cache", "cache_url", "email", "email_url", "search_url", "channels", "channels_url",
    "parse_value", "get_value",
}


def _python_sources() -> list[Path]:
    """First-party code: etlsite/, the apps and their commands (not the tests and their conftest.py, the
    virtualenv, var/, or the benchmark harness, whose BENCH_* knobs are documented in docs/BENCH.md)."""
    skip = {"tests", "var", "node_modules", "bench"}
    return sorted(
        path for path in ROOT.rglob("*.py")
        if path.name != "conftest.py"
        and not any(part.startswith(".") or part in skip for part in path.relative_to(ROOT).parts[:-1])
    )


def _env_read_name(call: ast.Call):
    """The first argument of an environment read (env.str("X"), env("X"), os.environ.get("X"), os.getenv("X"),
    os.environ["X"] is handled separately), or None."""
    func = call.func
    is_env = (
        (isinstance(func, ast.Name) and func.id == "env")
        or (isinstance(func, ast.Attribute) and func.attr in ENV_METHODS
            and isinstance(func.value, ast.Name) and func.value.id == "env")
        or (isinstance(func, ast.Attribute) and func.attr == "get" and ast.unparse(func.value) == "os.environ")
        or (isinstance(func, ast.Attribute) and func.attr == "getenv" and ast.unparse(func.value) == "os")
    )
    return call.args[0] if is_env and call.args else None


def settings_reads() -> set[str]:
    """Every environment variable the code reads. f-string names such as f"{prefix}_HOST" are expanded with the
    string literals passed for `prefix` at the call sites of the enclosing function."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in _python_sources()}
    names, templates = set(), []  # templates: (function name, parameter index, parameter name, JoinedStr)
    for tree in trees.values():
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            arg = None
            if isinstance(node, ast.Call):
                arg = _env_read_name(node)
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ" \
                    and isinstance(node.ctx, ast.Load):
                arg = node.slice
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                function = node
                while function is not None and not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    function = parents.get(function)
                assert function is not None, f"f-string environment read outside a function: {ast.unparse(arg)}"
                params = [a.arg for a in function.args.posonlyargs + function.args.args]
                templates.append((function.name, params, arg))
    for function_name, params, template in templates:
        placeholders = [v.value.id for v in template.values if isinstance(v, ast.FormattedValue)]
        assert len(placeholders) == 1 and placeholders[0] in params, ast.unparse(template)
        index, param = params.index(placeholders[0]), placeholders[0]
        values = set()
        for tree in trees.values():
            for call in ast.walk(tree):
                if not isinstance(call, ast.Call):
                    continue
                callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
                if callee != function_name:
                    continue
                given = call.args[index] if index < len(call.args) else next(
                    (k.value for k in call.keywords if k.arg == param), None)
                if isinstance(given, ast.Constant) and isinstance(given.value, str):
                    values.add(given.value)
        assert values, f"no call of {function_name}() passes a literal {param}"
        for value in values:
            names.add("".join(
                value if isinstance(part, ast.FormattedValue) else part.value for part in template.values))
    # Not a setting: tells Django which settings module to load.
    names.discard("DJANGO_SETTINGS_MODULE")
    return names


_EXAMPLE_LINE = re.compile(r"^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def env_example() -> dict[str, tuple[bool, str]]:
    """name -> (commented out, value) for each NAME=value line of .env.example, commented or not."""
    result = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = _EXAMPLE_LINE.match(line)
        if match:
            assert match[2] not in result, f"{match[2]} appears twice in .env.example"
            result[match[2]] = (bool(match[1]), match[3])
    return result


def test_the_scan_finds_the_settings_variables():
    """Guards the scanner itself: literal names, names built from a prefix, and os.environ reads."""
    reads = settings_reads()
    assert set(SPEC_VARIABLES) <= reads
    assert {"DJANGO_SECRET_KEY", "ETL_VAR_DIR", "CELERY_BROKER_URL", "METADATA_POSTGRES_SSLMODE",
            "STAGING_POSTGRES_CONN_MAX_AGE", "ETL_EMBEDDED_CLICKHOUSE_PORT", "ETL_ENV_FILE"} <= reads


def test_every_variable_the_settings_read_is_in_env_example():
    missing = sorted(settings_reads() - set(env_example()))
    assert not missing, f"read by the code but not documented in .env.example: {missing}"


def test_every_variable_in_env_example_is_read_by_the_settings_or_by_compose():
    compose_names = interpolated_names(raw_compose())
    unknown = sorted(set(env_example()) - settings_reads() - compose_names)
    assert not unknown, f"in .env.example but read by nothing: {unknown}"


def test_every_variable_compose_interpolates_is_in_env_example():
    missing = sorted(interpolated_names(raw_compose()) - set(env_example()))
    assert not missing, f"docker-compose.yml reads variables .env.example does not document: {missing}"


def test_env_example_leaves_the_database_hosts_unset_and_shows_the_specification_values():
    example = env_example()
    text = ENV_EXAMPLE.read_text()
    for prefix, defaults in SPEC_DEFAULTS.items():
        commented, value = example[f"{prefix}_HOST"]
        assert commented, f"{prefix}_HOST must be commented out: unset = embedded"
        assert value == "localhost"
        for field, default in defaults.items():
            assert example[f"{prefix}_{field}"] == (False, default)
    assert example["METADATA_POSTGRES_PORT"][1] == "5432"
    assert example["STAGING_POSTGRES_PORT"][1] == "5433"
    assert example["TARGET_CLICKHOUSE_PORT"][1] == "8123"
    assert text.count("unset = embedded (started under var/ by `manage.py stack start`)") >= 3


# --- Image and requirements ------------------------------------------------------------------------------

def test_image_and_requirements_serve_the_compose_processes():
    requirements = (ROOT / "requirements.txt").read_text().lower()
    assert re.search(r"^gunicorn==\S+", requirements, re.MULTILINE), "gunicorn must be pinned in requirements.txt"
    # Celery's redis:// transport needs the redis client (celery[redis] / kombu[redis] / redis).
    assert re.search(r"^(celery\[redis\]|kombu\[redis\]|redis)==\S+", requirements, re.MULTILINE)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root\b)\S+", dockerfile, re.MULTILINE), "the image must not run as root"
    assert "ETL_VAR_DIR=/app/var" in dockerfile
    assert re.search(r"^EXPOSE 8000\b", dockerfile, re.MULTILINE)
    dockerignore = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "var", ".git", ".env"} <= dockerignore

"""The ETL reads the services' stores only through their published read models (export
modules), never their private tables, adapters or store connections."""

from __future__ import annotations

import ast
from pathlib import Path

import etl

PRIVATE = {
    "sql_repository",
    "sql_rows",
    "tables",
    "mongo_repository",
    "mongo_client",
    "mongo_documents",
}


def imported_modules(source: str) -> set[str]:
    """Every module a source imports, with ``from a import b`` counted as ``a`` and ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def private_service_modules(modules: set[str]) -> set[str]:
    """The services' storage internals (``services.<service>.<private>``) among the modules."""
    paths = [name.split(".") for name in modules]
    return {
        ".".join(path[:3])
        for path in paths
        if len(path) >= 3 and path[0] == "services" and path[2] in PRIVATE
    }


def etl_imports() -> dict[str, set[str]]:
    """Per file of the etl package, the modules it imports."""
    root = Path(etl.__file__).parent
    return {
        str(path.relative_to(root)): imported_modules(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.py"))
    }


def test_no_etl_module_imports_a_services_tables_repositories_or_store_connection() -> None:
    imports = etl_imports()

    offending = {path: private_service_modules(names) for path, names in imports.items()}

    assert len(imports) > 10
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_etl_reads_both_services_through_their_export_modules() -> None:
    everything = set().union(*etl_imports().values())

    assert {"services.user.export", "services.activity.export"} <= everything


def test_the_boundary_check_catches_every_way_of_importing_a_private_module() -> None:
    source = "\n".join(
        [
            "from services.user.tables import users",
            "from services.activity import mongo_repository",
            "import services.activity.sql_repository as sessions",
            "from services.user.export import SqlUserExport",
            "from services.common.db import make_engine",
        ]
    )

    found = private_service_modules(imported_modules(source))

    assert found == {
        "services.user.tables",
        "services.activity.mongo_repository",
        "services.activity.sql_repository",
    }

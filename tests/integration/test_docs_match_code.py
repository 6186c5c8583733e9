"""What the docs promise about the code's tables is what the code holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.topology import LocalSettings
from services.activity.domain import WORKOUT_TYPES
from tests.helpers import COMPONENT_SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def _table_rows(markdown: str, header: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = lines.index(header) + 2  # past the header and its rule
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_workout_type_table_in_the_docs_matches_each_met_and_compendium_label() -> None:
    header = "| workout_type | MET | Compendium code | Compendium activity |"
    rows = _table_rows((ROOT / "docs" / "activity.md").read_text(), header)

    documented = {
        name: (float(met), label.replace("\N{EN DASH}", "-")) for name, met, _, label in rows
    }

    assert documented == {t.name: (t.met, t.description) for t in WORKOUT_TYPES.values()}
    assert all(len(code) == 5 and code.isdigit() for _, _, code, _ in rows)


@pytest.mark.parametrize("component", sorted([*COMPONENT_SETTINGS, "deploy.local"]))
def test_every_setting_of_every_component_is_documented(component: str) -> None:
    settings = COMPONENT_SETTINGS.get(component, LocalSettings)
    prefix = str(settings.model_config.get("env_prefix", ""))
    documented = (ROOT / "docs" / "configuration.md").read_text()
    variables = [f"{prefix}{name.upper()}" for name in settings.model_fields]
    missing = [variable for variable in variables if f"`{variable}`" not in documented]
    assert missing == [], "add them to docs/configuration.md"

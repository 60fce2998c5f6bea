"""What the robustness tests share: the article's scenarios in a small town."""

from __future__ import annotations

import tomllib
from pathlib import Path

from model.scenario import SCENARIO_DIR

ARTICLE = [
    SCENARIO_DIR / f for f in ("status_quo.toml", "gradual_return.toml", "abrupt_return.toml")
]


def town_files(folder: Path) -> list[Path]:
    """The article's three scenarios in a small town over a short horizon (quick runs)."""
    base = folder / "town.toml"
    base.write_text(
        f"""[scenario]
name = "status_quo"
extends = "{SCENARIO_DIR / "status_quo.toml"}"
[parameters]
n_workers = {{ value = 2000, assumption = "a small town, to keep the tests quick" }}
n_factories = {{ value = 20, assumption = "a small town" }}
start_date = {{ value = 2019-05-01, assumption = "a short horizon around the policies" }}
end_date = {{ value = 2020-03-31, assumption = "a short horizon around the policies" }}
"""
    )
    paths = [base]
    for name in ("gradual_return", "abrupt_return"):
        policy = tomllib.loads((SCENARIO_DIR / f"{name}.toml").read_text())["parameters"]
        lines = [f'[scenario]\nname = "{name}"\nextends = "town.toml"\n[parameters]']
        for key, entry in policy.items():
            value = entry["value"]
            value = f'"{value}"' if isinstance(value, str) else value
            lines.append(f'{key} = {{ value = {value}, assumption = "as {name}.toml" }}')
        path = folder / f"{name}.toml"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths

"""The README's layout names every package and module of the core as the tree has them, so
a newcomer's map never drifts from the house."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "app" / "core"


def _layout() -> dict[str, str]:
    """The layout block: each entry's path and the words that describe it."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    entries: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        if line[:1] not in ("", " "):
            current, _, words = line.partition(" ")
            entries[current] = words
        elif current is not None:
            entries[current] += " " + line.strip()
    return entries


def test_every_core_package_has_an_entry_naming_each_of_its_modules():
    entries = _layout()
    for package in sorted(p for p in CORE.iterdir() if (p / "__init__.py").exists()):
        key = f"app/core/{package.name}/"
        assert key in entries, f"{key} is missing from the README's layout"
        for module in sorted(package.glob("*.py")):
            if module.name != "__init__.py":
                assert re.search(rf"\b{module.stem}\b", entries[key]), (
                    f"{module.stem} is missing from {key} in the README's layout"
                )


def test_every_foundation_module_is_named():
    described = _layout()["app/core/"]
    for module in sorted(CORE.glob("*.py")):
        if module.name != "__init__.py":
            assert re.search(rf"\b{module.stem}\b", described), module.stem


def test_every_core_package_says_what_it_owns_and_may_import():
    for package in sorted(p for p in CORE.iterdir() if (p / "__init__.py").exists()):
        docstring = (package / "__init__.py").read_text()
        assert docstring.startswith('"""'), package.name
        assert "Imports" in docstring, f"{package.name} does not say what it may import"


def test_no_package_is_a_flat_bag():
    for package in (p for p in CORE.iterdir() if p.is_dir()):
        assert len(list(package.glob("*.py"))) <= 13, package.name

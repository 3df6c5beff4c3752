"""Importing the rules boots nothing: no Flask, no SQLAlchemy, no matplotlib (each checked in a fresh interpreter)."""
from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOMAIN = ROOT / "tracker" / "domain"
HEAVY = ("flask", "sqlalchemy", "matplotlib")


def _loaded_after(statement: str) -> list[str]:
    """The heavy packages' modules a fresh interpreter holds after running the statement."""
    script = (f"import sys; {statement}; "
              f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return ast.literal_eval(done.stdout.strip())


DOMAIN_MODULES = sorted(f"tracker.domain.{m.name}" for m in pkgutil.iter_modules([str(DOMAIN)]))


def test_every_domain_module_is_found():
    assert {"tracker.domain.roc", "tracker.domain.slippage", "tracker.domain.execution"} <= set(DOMAIN_MODULES)


def test_importing_every_domain_module_loads_no_flask_sqlalchemy_or_matplotlib():
    assert _loaded_after("; ".join(f"import {m}" for m in DOMAIN_MODULES)) == []


@pytest.mark.parametrize("module", ["tracker", "tracker.domain"])
def test_the_packages_themselves_import_nothing_heavy(module):
    assert _loaded_after(f"import {module}") == []

"""The version of the rules the scans judge by: bump RULES_VERSION whenever they change.

A scan stores the version in force beside its fingerprints (services.scanstate); a scan under a
new version judges everything again, so an upgrade that changes a rule (a fix, a new threshold, a
new message) never leaves alerts judged by the old one. tests/test_rules_version.py ties the
constant to the code: it digests every module the scans' judgement depends on (found from their
imports) and compares it with RULES_DIGEST, so a rule change without a bump fails the suite.

    python -m tracker.services.rules_version    # prints the digest of the rules as they are now
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path

#: Bump (add one) with every change to the rules; then record rules_digest() as RULES_DIGEST.
RULES_VERSION = 6
#: The digest of the rules' code that RULES_VERSION stands for (see rules_digest()).
RULES_DIGEST = "489ffd4d348c98b31d550e7b7cbafc158ff03942ae25fee3ed9c2feab482b15f"

#: The modules whose judgement scans store: what they import (within tracker) is part of the rules.
SCAN_MODULES = ("tracker.services.execution_scan", "tracker.services.schedule_scan")
#: Modules of tracker that never change a judgement, followed no further: the record of what was
#: judged (this module), the audit log, accounts and logins (who may list or acknowledge an alert,
#: who may write a report) and the table definitions (a change there is a migration).
NOT_RULES = frozenset({"tracker.services.rules_version", "tracker.services.audit", "tracker.services.accounts",
                       "tracker.services.login", "tracker.models"})

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


def _source_of(module: str) -> Path | None:
    """The file of a tracker module (a package's __init__.py), or None if there is none."""
    base = _PACKAGE_ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, tree: ast.Module) -> set[str]:
    """The tracker modules a module imports, anywhere in it (a function's late import included)."""
    found: set[str] = set()
    package = module if _source_of(module) and _source_of(module).name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from tracker.services import audit`
    return {name for name in found if name.split(".")[0] == "tracker" and _source_of(name) is not None}


def rule_modules() -> list[str]:
    """Every tracker module the scans' judgement depends on: the scan modules and, transitively, what they import."""
    seen: set[str] = set()
    todo = list(SCAN_MODULES)
    while todo:
        module = todo.pop()
        if module in seen or module in NOT_RULES:
            continue
        seen.add(module)
        tree = ast.parse(_source_of(module).read_text(encoding="utf-8"))
        todo.extend(_imports(module, tree) - seen)
    return sorted(seen)


def _without_docstrings(tree: ast.Module) -> ast.Module:
    """The tree less its docstrings: rewording a docstring changes no judgement."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def rules_digest() -> str:
    """A digest of the rules' code: each rule module's syntax tree (comments, layout and docstrings aside)."""
    digest = hashlib.sha256()
    for module in rule_modules():
        tree = _without_docstrings(ast.parse(_source_of(module).read_text(encoding="utf-8")))
        digest.update(f"{module}\n{ast.dump(tree)}\n".encode("utf-8"))
    return digest.hexdigest()


if __name__ == "__main__":
    print(rules_digest())

"""The rules' version: a constant tied to the rules' code, stored by every scan, and a new one judges everything."""
from __future__ import annotations

from datetime import date

from tracker.models import ScanState
from tracker.services import rules_version, scanstate
from tracker.services.rules_version import RULES_DIGEST, RULES_VERSION, rule_modules, rules_digest
from tracker.services.schedule_scan import scan_schedule

AS_OF = date(2017, 10, 11)


def test_the_rules_version_is_bumped_with_every_change_to_the_rules():
    now = rules_digest()
    assert now == RULES_DIGEST, (
        f"rules changed: bump RULES_VERSION and update RULES_DIGEST (in tracker/services/rules_version.py) to {now!r}")


def test_the_rules_are_found_from_the_scans_imports_not_from_a_list():
    modules = set(rule_modules())
    assert {"tracker.services.execution_scan", "tracker.services.schedule_scan"} <= modules
    # what the scans judge by, the two a hand-written list once missed included
    assert {"tracker.domain.slippage", "tracker.domain.execution", "tracker.domain.progress", "tracker.domain.roc",
            "tracker.services.progress", "tracker.services.execution", "tracker.services.schedule_facts"} <= modules
    assert not modules & rules_version.NOT_RULES


def test_comments_and_docstrings_are_not_rules(tmp_path, monkeypatch):
    package = tmp_path / "tracker" / "services"
    package.mkdir(parents=True)
    (tmp_path / "tracker" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    monkeypatch.setattr(rules_version, "_PACKAGE_ROOT", tmp_path)
    monkeypatch.setattr(rules_version, "SCAN_MODULES", ("tracker.services.scan",))

    def digest_of(source: str) -> str:
        (package / "scan.py").write_text(source)
        return rules_digest()

    plain = digest_of('def late(days):\n    return days > 10\n')
    assert digest_of('"""A module."""\n# a comment\ndef late(days):\n    """Late?"""\n    return days > 10  # why\n') == plain
    assert digest_of('def late(days):\n    return days > 11\n') != plain


def test_a_scan_stores_the_rules_version_and_a_new_version_judges_everything(seeded, session, monkeypatch):
    assert scan_schedule(session, AS_OF).judged is None
    session.commit()
    assert session.get(ScanState, ("schedule", scanstate.SETTINGS_ROW)).fingerprint.startswith(
        f"rules v{RULES_VERSION}:")
    assert scan_schedule(session, AS_OF).judged == 0  # same rules, same date: nothing to judge again
    session.commit()

    monkeypatch.setattr(scanstate, "RULES_VERSION", RULES_VERSION + 1)  # as after an upgrade that bumped it
    assert scan_schedule(session, AS_OF).judged is None
    session.commit()
    session.expire_all()
    assert session.get(ScanState, ("schedule", scanstate.SETTINGS_ROW)).fingerprint.startswith(
        f"rules v{RULES_VERSION + 1}:")

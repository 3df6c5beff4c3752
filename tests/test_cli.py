"""The tracker command: accounts, tokens, migrations and the server's first start."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from tracker.models import ApiToken, AuditEntry, User


def test_users_add_reads_password_from_stdin(seeded, runner, session):
    result = runner.invoke(args=["users", "add", "chen", "--role", "project_manager", "--system", "檢察"],
                           input="a-good-password-1\n")
    assert result.exit_code == 0, result.output
    user = session.scalars(sa.select(User).where(User.name == "chen")).one()
    assert (user.role, user.system.name) == ("project_manager", "檢察")
    assert "a-good-password-1" not in user.password_hash
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.create")).one()
    assert entry.actor == "cli" and entry.changes["name"] == "chen"


def test_users_add_accepts_system_code(seeded, runner, session):
    result = runner.invoke(args=["users", "add", "lin", "--role", "project_manager", "--system", "corrections"],
                           input="a-good-password-1\n")
    assert result.exit_code == 0, result.output
    assert session.scalars(sa.select(User).where(User.name == "lin")).one().system.name == "矯正"


def test_users_add_refusals_name_the_field(seeded, runner, session):
    cases = [
        (["users", "add", "pm", "--role", "project_manager"], "a-good-password-1\n", "system:"),
        (["users", "add", "pm", "--role", "project_manager", "--system", "法院"], "a-good-password-1\n", "unknown system"),
        (["users", "add", "pm", "--role", "leadership"], "short\n", "password:"),
        (["users", "add", "pm", "--role", "leadership"], "\n", "password:"),
        (["users", "add", "pm", "--role", "chief"], "a-good-password-1\n", "Invalid value for '--role'"),
    ]
    for args, stdin, message in cases:
        result = runner.invoke(args=args, input=stdin)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    runner.invoke(args=["users", "add", "pm", "--role", "leadership"], input="a-good-password-1\n")
    again = runner.invoke(args=["users", "add", "pm", "--role", "leadership"], input="a-good-password-1\n")
    assert again.exit_code == 1 and "已存在" in again.output
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_users_token_prints_a_token_that_works(seeded, runner, client, session):
    runner.invoke(args=["users", "add", "api", "--role", "leadership"], input="a-good-password-1\n")
    result = runner.invoke(args=["users", "token", "api"])
    assert result.exit_code == 0
    token = result.stdout.strip()  # the expiry goes to stderr
    assert client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in session.scalars(sa.select(ApiToken.token_hash)).one()
    assert "no user named" in runner.invoke(args=["users", "token", "ghost"]).output


def test_unreachable_database_is_one_clear_line(tmp_path):
    from tracker.app import create_app
    from tracker.cli import main

    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "SECRET_KEY": "k",
                      "DATA_DIR": str(tmp_path)})
    result = app.test_cli_runner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "cannot use the database" in result.output and "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_an_empty_database_makes_everything(tmp_path, database_url):
    """`tracker serve` migrates, loads the seed, prints a one-time admin password and serves pages."""
    port = _free_port()
    env = {**os.environ, "TRACKER_DATA_DIR": str(tmp_path / "data"), "TRACKER_DATABASE_URL": database_url}
    tracker = Path(sys.executable).with_name("tracker")
    process = subprocess.Popen([str(tracker), "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "tracker on http" in line:
                break
        output = "".join(lines)
        assert "73 projects" in output, output
        match = re.search(r"created administrator 'admin' with one-time password: (\S+)", output)
        assert match, output
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    assert response.status == 200
                    assert "登入" in response.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not answer")
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()

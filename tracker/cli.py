"""The `tracker` command: database, seed, accounts and the server."""
from __future__ import annotations

import functools
import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from tracker import config as config_module
from tracker import db, logs, migrate
from tracker.app import create_app
from tracker.models import Project, User
from tracker.domain.access import Role
from tracker.domain.roc import format_roc_date
from tracker.services import accounts, audit, demo, ledger_import, plans, reporting_date, seed
from tracker.services.scans import rescan_after_import
from tracker.domain.roc import ROC_YEAR_MAX, ROC_YEAR_MIN


def friendly_errors(func):
    """Turn refusals and an unreachable database into one clear line instead of a stack trace."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except seed.SeedError as exc:
            raise click.ClickException(str(exc)) from None
        except accounts.AccountError as exc:
            raise click.ClickException(f"{exc.field}: {exc.message}") from None
        except ledger_import.ImportRefused as exc:
            raise click.ClickException(str(exc)) from None
        except demo.DemoRefused as exc:
            raise click.ClickException(str(exc)) from None
        except plans.PlanImportError as exc:
            raise click.ClickException(str(exc)) from None
        except sa.exc.IntegrityError:
            raise click.ClickException("another change to the same rows landed first; nothing was written, "
                                       "run the command again") from None
        except sa.exc.OperationalError as exc:
            raise click.ClickException(
                f"cannot use the database at {db.get_engine().url.render_as_string(hide_password=True)}: "
                f"{str(exc.orig).strip().splitlines()[0]}"
            ) from None

    return wrapper


def _create_cli_app():
    """The app for a command; a wrong setting stops the command with a message naming the variable."""
    try:
        return create_app(process="cli")
    except config_module.ConfigError as exc:
        raise NoAppException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_cli_app,
             help="法務部重要計畫管考系統 (tracker).")
def main() -> None:
    """The tracker command."""


@main.group("config")
def config_group() -> None:
    """The settings (TRACKER_* environment variables)."""


@config_group.command("show")
@with_appcontext
def config_show() -> None:
    """Print every setting's variable, effective value (secrets masked) and where it came from."""
    rows = config_module.describe(current_app.config)
    width = max(len(row["env"]) for row in rows)
    for row in rows:
        click.echo(f"{row['env']:<{width}}  {row['value']}  [{row['source']}]")


@main.group("db")
def db_group() -> None:
    """Schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
@friendly_errors
def db_upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: the newest)."""
    migrate.upgrade(db.get_engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(db.get_engine())}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
@friendly_errors
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION (`base` removes every table)."""
    migrate.downgrade(db.get_engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(db.get_engine())}")


@db_group.command("current")
@with_appcontext
@friendly_errors
def db_current() -> None:
    """Show the schema revision of the database and the newest one shipped."""
    click.echo(f"database: {migrate.current_revision(db.get_engine()) or 'empty'}; newest: {migrate.head_revision()}")


def _load_seed(path: str) -> seed.SeedResult:
    with db.new_session() as session:
        result = seed.load_seed_file(session, path, audit.SEED)
        session.commit()
    return result


@main.command("init")
@click.option("--seed", "seed_path", type=click.Path(dir_okay=False), default=None,
              help="Seed file (default: seeds/projects_106.json).")
@with_appcontext
@friendly_errors
def init_command(seed_path: str | None) -> None:
    """Migrate the database and load the 106 plan; running it again changes nothing."""
    migrate.upgrade(db.get_engine())
    result = _load_seed(seed_path or current_app.config["SEED_PATH"])
    click.echo(result.summary())


@main.group("plan")
def plan_group() -> None:
    """A year's 施政計畫, read from its text."""


@plan_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--year", "year", type=click.IntRange(ROC_YEAR_MIN, ROC_YEAR_MAX), required=True,
              help="The plan's ROC year (107); the title must name the same year.")
@click.option("--dry-run", is_flag=True, help="Show what the plan would change; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--replace", is_flag=True, help="Load again a year already loaded, replacing its entries.")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help='JSON {"<this year\'s 序號>": <programme_id> or null}: settles ambiguous matches.')
@with_appcontext
@friendly_errors
def plan_import_command(file: str, year: int, dry_run: bool, fmt: str, replace: bool, mapping_file: str | None) -> None:
    """Read a plan's text, match its programmes to last year's, and load it all or nothing."""
    import json
    from pathlib import Path

    limit = current_app.config["PLAN_MAX_MB"] * 1024 * 1024
    if Path(file).stat().st_size > limit:
        raise click.ClickException(f"{file}: larger than PLAN_MAX_MB ({current_app.config['PLAN_MAX_MB']} MB)")
    text = plans.read_text(Path(file).read_bytes(), limit)
    mapping = plans.read_mapping(Path(mapping_file).read_bytes()) if mapping_file else None
    with db.new_session() as session:
        if dry_run:
            preview = plans.preview_plan(session, text, year, filename=Path(file).name, mapping=mapping, replace=replace)
        else:
            try:
                preview = plans.import_plan(session, text, year, audit.CLI, filename=Path(file).name,
                                            mapping=mapping, replace=replace)
            except plans.PlanImportError:
                session.rollback()
                if fmt == "json":
                    preview = plans.preview_plan(session, text, year, filename=Path(file).name, mapping=mapping,
                                                 replace=replace)
                    click.echo(json.dumps(preview.as_json(), ensure_ascii=False, indent=2))
                raise
            session.commit()
    if fmt == "json":
        click.echo(json.dumps(preview.as_json(), ensure_ascii=False, indent=2))
        if preview.problems or preview.ambiguous:
            raise SystemExit(1)
        return
    for p in preview.problems:
        click.echo(f"problem: {'line ' + str(p['line']) + ': ' if p['line'] else ''}"
                   f"{p['text'] + ': ' if p['text'] else ''}{p['message']}")
    for a in preview.ambiguous:
        click.echo(f"ambiguous: {a['code']} {a['name']}: "
                   + "; ".join(f"{c['programme_id']} {c['name']} ({c['score']:.2f})" for c in a["candidates"]))
    for item in preview.continuing:
        click.echo(f"continuing: {item['code']} {item['name']} ← {item['programme_id']} {item['previous_name']}"
                   f" ({item['score']:.2f})")
    for item in preview.new:
        click.echo(f"new: {item['code']} {item['name']}")
    for item in preview.dropped:
        click.echo(f"dropped: {item['programme_id']} {item['name']}")
    for item in preview.changed:
        click.echo(f"changed: {item['kind']} {item['code']} {item['name']}: "
                   + "; ".join(f"{k} {v[0]} → {v[1]}" for k, v in item["changes"].items()))
    state = "applied" if preview.applied else "dry run, nothing written"
    click.echo(f"plan {year}: {len(preview.new)} new, {len(preview.continuing)} continuing, "
               f"{len(preview.dropped)} dropped, {len(preview.changed)} changed, {preview.kpis} KPIs ({state})")
    if preview.problems or preview.ambiguous:
        raise SystemExit(1)


@main.group("users")
def users_group() -> None:
    """Accounts and API tokens."""


def _read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line.strip():
            raise click.ClickException("password: none given on standard input")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--system", default=None, help="The system as the plan names it (檢察) or its code (prosecution).")
@click.option("--email", default=None, help="Address for the daily digest and reminders.")
@with_appcontext
@friendly_errors
def users_add(name: str, role: str, system: str | None, email: str | None) -> None:
    """Add a user; the password comes from a prompt, or from standard input when piped."""
    password = _read_password()
    with db.new_session() as session:
        user = accounts.create_user(session, name, role, password, system, audit.CLI, email=email)
        session.commit()
        click.echo(f"user {user.name} added ({user.role}{', ' + user.system.name if user.system else ''})")


def _local(moment, tz_name: str):
    """A stored UTC timestamp in the configured timezone."""
    from zoneinfo import ZoneInfo

    from tracker.models import as_utc

    return as_utc(moment).astimezone(ZoneInfo(tz_name))


def _user_action(name: str, act) -> None:
    """Run one account action on NAME in one transaction (all of it is written, or nothing) and print its result."""
    with db.new_session() as session:
        message = act(session, accounts.find_user(session, name))
        session.commit()
    click.echo(message)


@users_group.command("token")
@click.argument("name")
@click.option("--rotate", is_flag=True, help="Revoke every earlier token of NAME still working.")
@click.option("--label", default=None, help="What the token is for (shown on the account page).")
@with_appcontext
@friendly_errors
def users_token(name: str, rotate: bool, label: str | None) -> None:
    """Print a new API token for NAME (shown once; only its hash is kept) and, on stderr, when it expires."""
    from tracker.domain.roc import format_roc_date

    config = current_app.config
    with db.new_session() as session:
        token, row = accounts.issue_token(session, name, audit.CLI, config["API_TOKEN_LIFETIME_DAYS"], label, rotate)
        session.commit()
    expires = _local(row.expires_at, config["TIMEZONE"])
    click.echo(token)  # alone on standard output, so `TOKEN=$(tracker users token NAME)` works
    click.echo(f"token {row.id} expires {format_roc_date(expires.date())} ({expires.isoformat(timespec='seconds')})"
               + ("; the earlier tokens are revoked" if rotate else ""), err=True)


@users_group.command("tokens")
@click.argument("name")
@with_appcontext
@friendly_errors
def users_tokens(name: str) -> None:
    """List the API tokens of NAME: id, state, expiry, last use, label."""
    config = current_app.config
    with db.new_session() as session:
        user = accounts.find_user(session, name)
        for row in accounts.list_tokens(session, user):
            state = accounts.token_state(row, lifetime_days=config["API_TOKEN_LIFETIME_DAYS"])
            expires = _local(accounts.token_expires_at(row, config["API_TOKEN_LIFETIME_DAYS"]), config["TIMEZONE"])
            used = _local(row.last_used_at, config["TIMEZONE"]).isoformat(timespec="minutes") if row.last_used_at \
                else "never used"
            click.echo(f"{row.id}\t{state}\texpires {expires.isoformat(timespec='minutes')}\t{used}\t{row.label or ''}")


@users_group.command("list")
@with_appcontext
@friendly_errors
def users_list() -> None:
    """List the accounts: name, role, system, active or disabled, last login (local time)."""
    tz_name = current_app.config["TIMEZONE"]
    with db.new_session() as session:
        for user in session.scalars(sa.select(User).order_by(User.name)):
            system = user.system.name if user.system else "-"
            last = _local(user.last_login_at, tz_name).isoformat(timespec="minutes") if user.last_login_at else "never"
            click.echo(f"{user.name}\t{user.role}\t{system}\t{'active' if user.is_active else 'disabled'}\t"
                       f"last login {last}")


@users_group.command("disable")
@click.argument("name")
@with_appcontext
@friendly_errors
def users_disable(name: str) -> None:
    """Disable NAME: its sessions end at once and its API tokens are revoked."""
    def act(session, user):
        revoked = accounts.disable_user(session, user, audit.CLI)
        return f"user {user.name} disabled; its sessions ended and {revoked} token(s) revoked"

    _user_action(name, act)


@users_group.command("enable")
@click.argument("name")
@with_appcontext
@friendly_errors
def users_enable(name: str) -> None:
    """Enable NAME again (tokens revoked when it was disabled stay revoked)."""
    def act(session, user):
        accounts.enable_user(session, user, audit.CLI)
        return f"user {user.name} enabled"

    _user_action(name, act)


@users_group.command("reset")
@click.argument("name")
@with_appcontext
@friendly_errors
def users_reset(name: str) -> None:
    """Print a one-time password for NAME, to change at the next login; its sessions and tokens end."""
    def act(session, user):
        password = accounts.reset_password(session, user, audit.CLI)
        return f"one-time password for {user.name} (shown once; changed at the next login): {password}"

    _user_action(name, act)


@users_group.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice([role.value for role in Role]))
@click.option("--system", default=None, help="The system (檢察 or prosecution); a project_manager needs one.")
@with_appcontext
@friendly_errors
def users_set_role(name: str, role: str, system: str | None) -> None:
    """Change the role and system of NAME (no --system: none); the last active admin stays an admin."""
    def act(session, user):
        accounts.set_role(session, user, role, system, audit.CLI)
        return f"user {user.name} is now {user.role}{', ' + user.system.name if user.system else ''}"

    _user_action(name, act)


@users_group.command("unlock")
@click.argument("name")
@with_appcontext
@friendly_errors
def users_unlock(name: str) -> None:
    """Clear the login delay that failed guesses put on NAME."""
    def act(session, user):
        accounts.unlock_user(session, user, audit.CLI)
        return f"user {user.name} unlocked: earlier failed logins no longer slow it"

    _user_action(name, act)


@users_group.command("revoke-token")
@click.argument("name")
@click.option("--all", "all_", is_flag=True, help="Revoke every token of NAME.")
@click.option("--id", "token_id", type=int, default=None, help="Revoke the token with this id (see `users tokens`).")
@with_appcontext
@friendly_errors
def users_revoke_token(name: str, all_: bool, token_id: int | None) -> None:
    """Revoke one token of NAME (--id ID) or every one (--all)."""
    if all_ == (token_id is not None):
        raise click.UsageError("give exactly one of --all or --id ID")

    def act(session, user):
        if all_:
            return f"{accounts.revoke_all_tokens(session, user, audit.CLI)} token(s) of {user.name} revoked"
        row = accounts.revoke_token(session, user, token_id, audit.CLI)
        return f"token {row.id} of {user.name} revoked"

    _user_action(name, act)


@main.group("ledger")
def ledger_group() -> None:
    """Budgets and month-end accounting figures."""


def _amount_text(value) -> str:
    return "—" if value is None else format(value.normalize(), "f")


def _echo_changes(result) -> None:
    """Each row the import changes (old → new) and the warnings, as the upload page previews them."""
    for change in result.changes:
        if change.action == "unchanged":
            continue
        month = f"-{change.key['month']:02d}" if change.key.get("month") else ""
        amounts = "; ".join(
            f"{field} {_amount_text(change.before[field] if change.before else None)} → {_amount_text(new)}"
            for field, new in change.after.items()
            if change.before is None or change.before[field] != new)
        click.echo(f"  row {change.row}: {change.action} {change.project_code or '-'} {change.project_name} "
                   f"{change.key['year_roc']}{month} {change.key['kind']}: {amounts}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}")


@ledger_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and print what it would change; write nothing.")
@with_appcontext
@friendly_errors
def ledger_import_command(file: str, dry_run: bool) -> None:
    """Import a budgets or month-end file (CSV in UTF-8 or Big5, or XLSX); all rows or none."""
    from pathlib import Path

    from tracker.services import ledger_files

    limits = ledger_files.limits_from(current_app.config)
    ledger_files.check_size(Path(file).stat().st_size, limits)  # before reading it: the web's upload limit
    data = Path(file).read_bytes()
    if dry_run:
        with db.new_session() as session:
            result = ledger_import.import_ledger(session, Path(file).name, data, audit.CLI, dry_run=True,
                                                 limits=limits, config=current_app.config)
            session.rollback()
        click.echo(f"{result.kind}: {result.rows} rows; {result.created} to create, {result.replaced} to replace, "
                   f"{result.unchanged} unchanged (dry run: nothing written)")
        _echo_changes(result)
        return
    with db.new_session() as session, click.progressbar(length=max(1, data.count(b"\n")), label="rows",
                                                        file=sys.stderr) as bar:
        done = [0]

        def progress(rows: int) -> None:
            bar.update(rows - done[0])
            done[0] = rows

        result = ledger_import.import_ledger(session, Path(file).name, data, audit.CLI, progress, limits=limits,
                                             config=current_app.config)
        rescan = rescan_after_import(session, result, current_app.config, audit.CLI)
        session.commit()
    click.echo(f"{result.kind}: {result.rows} rows; {result.created} created, {result.replaced} replaced, "
               f"{result.unchanged} unchanged (import {result.import_id})")
    for warning in result.warnings:
        click.echo(f"warning: {warning}")
    if rescan:
        click.echo(f"execution alerts: {rescan.summary()}")


@ledger_group.command("template")
@click.argument("kind", type=click.Choice(["budgets", "month-end"]))
@click.option("--year", required=True, type=click.IntRange(ROC_YEAR_MIN, ROC_YEAR_MAX), help="ROC year.")
@click.option("--month", type=click.IntRange(1, 12), default=None, help="Month (month-end templates).")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The file to write: .csv or .xlsx.")
@with_appcontext
@friendly_errors
def ledger_template_command(kind: str, year: int, month: int | None, output: str) -> None:
    """Write a template to fill: every programme of the year with its plan code and name, and the headings."""
    from pathlib import Path

    from tracker.services import ledger_template

    fmt = Path(output).suffix.lower().lstrip(".")
    if fmt not in ledger_template.FORMATS:
        raise click.UsageError("the output file must end in .csv or .xlsx")
    with db.new_session() as session:
        try:
            built = ledger_template.build(session, ledger_template.kind_of(kind), year, month)
        except ledger_template.TemplateError as exc:
            raise click.ClickException(str(exc)) from None
    Path(output).write_bytes(ledger_template.render(built, fmt))
    click.echo(f"{output}: {len(built.rows)} programmes, columns {', '.join(built.header)}")


@ledger_group.command("history")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@with_appcontext
@friendly_errors
def ledger_history_command(fmt: str) -> None:
    """List the imports, newest first."""
    import json

    from tracker.services import ledger_history

    with db.new_session() as session:
        imports = ledger_history.list_imports(session)
    if fmt == "json":
        click.echo(json.dumps([item.as_json() for item in imports], ensure_ascii=False, indent=2))
        return
    for item in imports:
        state = f"undone {item.undone_at.isoformat(timespec='seconds')} by {item.undone_by}" if item.undone_at else ""
        click.echo(f"{item.id}\t{item.at.isoformat(timespec='seconds')}\t{item.user}\t{item.kind}\t{item.rows} rows "
                   f"({item.created} created, {item.replaced} replaced, {item.unchanged} unchanged)"
                   f"{chr(9) + 'correction' if item.is_correction else ''}\t{item.filename}\t{item.sha256[:12]}"
                   f"{chr(9) + state if state else ''}")


@ledger_group.command("undo")
@click.argument("import_id", type=int)
@with_appcontext
@friendly_errors
def ledger_undo_command(import_id: int) -> None:
    """Undo import ID: the rows it created are deleted, the rows it replaced restored; alerts judged again."""
    from tracker.services import ledger_history

    with db.new_session() as session:
        try:
            result = ledger_history.undo_import(session, import_id, audit.CLI)
        except ledger_history.UndoRefused as exc:
            raise click.ClickException(str(exc)) from None
        rescan = rescan_after_import(session, result, current_app.config, audit.CLI)
        session.commit()
    click.echo(f"import {import_id} undone: {result.deleted} rows deleted, {result.restored} restored")
    if rescan:
        click.echo(f"execution alerts: {rescan.summary()}")


@main.group("year")
def year_group() -> None:
    """Plan years: the year close (年度結束)."""


def _echo_proposals(state) -> None:
    """The close's table: code, name, 可支用預算數, December's 執行數, the proposed 以前年度保留數 (千元)."""
    for p in state.proposals:
        click.echo(f"  {p.code or '-'}\t{p.name}\tavailable {_amount_text(p.available)}\t"
                   f"executed {_amount_text(p.executed)}\tproposed {_amount_text(p.proposed)}")


@year_group.command("close")
@click.argument("year", type=click.IntRange(ROC_YEAR_MIN, ROC_YEAR_MAX))
@click.option("--dry-run", is_flag=True, help="Print the proposals (and check the amounts given); write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--accept-all", is_flag=True, help="Carry over every proposed amount as it is.")
@click.option("--proposals", "proposals_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help='A JSON file {"<plan code>": "123.456", ...} of amounts (千元); rows left out keep the proposal.')
@with_appcontext
@friendly_errors
def year_close_command(year: int, dry_run: bool, fmt: str, accept_all: bool, proposals_file: str | None) -> None:
    """Close YEAR: each capital budget's year-end unexecuted amount becomes YEAR+1's 以前年度保留數; YEAR is read-only."""
    import json
    from decimal import Decimal
    from pathlib import Path

    from tracker.services import years

    if accept_all and proposals_file:
        raise click.UsageError("give --accept-all or --proposals FILE, not both")
    if not (accept_all or proposals_file or dry_run):
        raise click.UsageError("choose --accept-all (carry every proposal over as it is) or --proposals FILE "
                               "(your amounts), or look first with --dry-run")
    given = None
    if proposals_file:
        try:
            given = json.loads(Path(proposals_file).read_text(encoding="utf-8-sig"), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"not a JSON file: {exc}", param_hint="--proposals") from None
        if not isinstance(given, dict):
            raise click.BadParameter('expected a JSON object {"<plan code>": "123.456", ...}',
                                     param_hint="--proposals")
    with db.new_session() as session:
        try:
            state = years.year_state(session, year)
            result = None
            if given is not None or accept_all:
                amounts = years.amounts_by_code(state, {str(k): str(v) for k, v in given.items()}) if given else {}
                result = years.close_year(session, year, amounts, audit.CLI, dry_run=dry_run)
        except years.CloseRefused as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        if result is not None and not dry_run:
            session.commit()
            state = years.year_state(session, year)
    if fmt == "json":
        click.echo(json.dumps(state.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"year {year}: {len(state.proposals)} capital budgets"
               + (f" (closed by {state.closed_by})" if state.is_closed else ""))
    _echo_proposals(state)
    if result is None:
        click.echo("dry run: nothing written; give --accept-all or --proposals FILE to close the year")
        return
    verb = "would be" if dry_run else "were"
    click.echo(f"{year + 1} budgets: {result.created} {verb} created, {result.changed} {verb} changed; "
               f"{result.resolved} open alerts {verb} resolved (年度結束)"
               + ("; dry run: nothing written" if dry_run else f"; year {year} is closed and read-only"))


@main.command("scan")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Judge as of this date (default: the reporting date, else today in Asia/Taipei).")
@click.option("--full", is_flag=True, help="Judge everything again, not only what changed since the last scan.")
@with_appcontext
@friendly_errors
def scan_command(as_of, full: bool) -> None:
    """Run every scan once now, as the scheduler does, each recorded as its job's run (started by cli)."""
    from tracker.services import jobs

    day = as_of.date() if as_of else jobs.reporting_day(current_app._get_current_object())
    failed = []
    for name, (run, result) in jobs.run_scan_jobs(current_app._get_current_object(), day, audit.CLI, full).items():
        if result is not None:
            click.echo(f"{name} scan as of {day}: {result.summary()}")
        else:
            failed.append(run.job_id)
            click.echo(f"{name} scan as of {day}: {run.status}: "
                       f"{run.error.splitlines()[0] if run.error else 'no result'} (job run {run.id})", err=True)
    if failed:
        raise click.ClickException(f"{', '.join(failed)} failed; the error is on /admin/jobs")


@main.command("demo")
@click.option("--year", default=106, show_default=True, type=click.IntRange(ROC_YEAR_MIN, ROC_YEAR_MAX), help="ROC year.")
@click.option("--clear", is_flag=True, help="Remove the demo figures instead.")
@with_appcontext
@friendly_errors
def demo_command(year: int, clear: bool) -> None:
    """Load synthetic budgets and month-end figures (fixed seed) so rates and alerts can be seen."""
    with db.new_session() as session:
        if clear:
            removed = demo.clear_demo(session, year)
            session.commit()
            click.echo(f"removed {removed} synthetic rows of {year}")
            return
        result = demo.load_demo(session, year, audit.CLI)
        session.commit()
    click.echo(f"synthetic figures for {year}: {result.projects} capital projects, {result.budgets} budgets, "
               f"{result.month_ends} month-end rows (shown as 模擬資料; imported figures replace them)")
    # a newcomer sees rates, lights and alerts at once: the reporting date moves to the demo's last month
    # and every scan runs as of it
    from tracker.services import jobs
    with db.new_session() as session:
        day = demo.demo_reporting_date(session, year)
        reporting_date.set_reporting_date(session, day, audit.CLI)
        session.commit()
    click.echo(f"reporting date (評核基準日) set to {day.isoformat()} ({format_roc_date(day)})")
    for name, (run, outcome) in jobs.run_scan_jobs(current_app._get_current_object(), day, audit.CLI).items():
        click.echo(f"{name} scan as of {day}: {outcome.summary() if outcome else run.status}")


@main.command("reporting-date")
@click.argument("value", required=False)
@click.option("--clear", is_flag=True, help="Forget the date set: the reporting date is today again.")
@with_appcontext
@friendly_errors
def reporting_date_command(value: str | None, clear: bool) -> None:
    """Print the reporting date (評核基準日), or set it: YYYY-MM-DD (or ROC 106/9/30)."""
    from tracker.domain.roc import RocDateError, parse_date

    if value and clear:
        raise click.UsageError("give a date or --clear, not both")
    with db.new_session() as session:
        if value or clear:
            try:
                day = None if clear else parse_date(value)
            except RocDateError as exc:
                raise click.BadParameter(str(exc), param_hint="VALUE") from None
            try:
                reporting_date.set_reporting_date(session, day, audit.CLI)
            except reporting_date.ReportingDateRefused as exc:
                raise click.BadParameter(str(exc), param_hint="VALUE") from None
            session.commit()
        stored = reporting_date.stored(session)
        day = reporting_date.current(session, current_app.config)
    source = "set by an admin" if stored else f"today in {current_app.config['TIMEZONE']}"
    click.echo(f"{day.isoformat()}\t{format_roc_date(day)}\t{source}")


@main.command("scheduler")
@with_appcontext
@friendly_errors
def scheduler_command() -> None:
    """Run the scheduled jobs (slip scans, execution scans, reminders) in this one process until stopped."""
    from tracker import scheduler

    logs.configure(current_app.config["LOG_LEVEL"], current_app.config["LOG_FORMAT"], "scheduler")
    try:
        scheduler.run_blocking(current_app._get_current_object())
    except scheduler.SchedulerLocked as exc:
        raise click.ClickException(str(exc)) from None


@main.group("jobs")
def jobs_group() -> None:
    """The scheduler's jobs."""


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    """List the scheduled jobs with their schedules in words, timezone and next run."""
    from tracker import scheduler

    for row in scheduler.job_table(current_app._get_current_object()):
        click.echo(f"{row['id']}\t{row['when']}\t{row['timezone']}\tnext {row['next_run']:%Y-%m-%d %H:%M %Z}")


@jobs_group.command("run")
@click.argument("job_id")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as of this date (default: today in the configured timezone).")
@with_appcontext
@friendly_errors
def jobs_run(job_id: str, as_of) -> None:
    """Run one job now, as the scheduler would, and record the run (started by cli)."""
    from tracker.services import jobs

    if job_id not in jobs.JOB_BODIES:
        raise click.BadParameter(f"one of {', '.join(jobs.JOB_BODIES)}", param_hint="JOB_ID")
    run = jobs.run_named(current_app._get_current_object(), job_id, as_of.date() if as_of else None, audit.CLI)
    click.echo(f"{job_id} {run.status}: {run.opened} opened, {run.updated} updated, {run.resolved} resolved")
    if run.status != "succeeded":
        raise click.ClickException(run.error.splitlines()[0] if run.error else "failed")


@main.command("report")
@click.option("--month", "month_text", required=True, help="The month, ROC: 106-09.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Where to write the PDF (default: report-106-09.pdf).")
@with_appcontext
@friendly_errors
def report_command(month_text: str, output: str | None) -> None:
    """Write the monthly report PDF: Gantt, execution table and charts, open alerts, KPI board."""
    from tracker.domain.roc import RocDateError, parse_roc_month
    from tracker.services.report import monthly_report

    try:
        month = parse_roc_month(month_text)
    except RocDateError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    with db.new_session() as session:
        pdf = monthly_report(session, month, current_app.config)
    path = output or f"report-{month}.pdf"
    with open(path, "wb") as handle:
        handle.write(pdf)
    click.echo(f"monthly report {month} written to {path} ({len(pdf) // 1024} KiB)")


def prepare_database(echo=click.echo) -> None:
    """Migrate; on an empty database load the seed; make an admin when none exists."""
    engine = db.get_engine()
    migrate.upgrade(engine)
    with db.new_session() as session:
        has_projects = session.scalar(sa.select(Project.id).limit(1)) is not None
    if not has_projects:
        echo(_load_seed(current_app.config["SEED_PATH"]).summary())
    with db.new_session() as session:
        credentials = accounts.ensure_admin(session, audit.CLI)
        session.commit()
    if credentials:
        name, password = credentials
        echo(f"created administrator {name!r} with one-time password: {password}")
        echo("log in with it and choose a new password; it is not shown again.")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@with_appcontext
@friendly_errors
def serve(host: str, port: int, threads: int) -> None:
    """Serve the tracker (waitress); on an empty database migrate, load the seed and create an admin."""
    from waitress import serve as waitress_serve

    logs.configure(current_app.config["LOG_LEVEL"], current_app.config["LOG_FORMAT"], "web")
    prepare_database()
    if current_app.config["RUN_SCHEDULER_IN_SERVER"]:
        from tracker import scheduler

        if scheduler.start_background(current_app._get_current_object()) is None:
            click.echo("another tracker scheduler runs for this database; this server runs no scheduled jobs")
        else:
            click.echo("scheduled jobs run inside this server "
                       "(production: TRACKER_RUN_SCHEDULER_IN_SERVER=0 and one `tracker scheduler` process)")
    click.echo(f"tracker on http://{host}:{port}/ (database {db.get_engine().url.render_as_string(hide_password=True)})")
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads)


if __name__ == "__main__":
    main()

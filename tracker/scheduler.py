"""The scheduler (APScheduler 3): one per database, guarded by a lock; jobs only call services."""
from __future__ import annotations

import atexit
import fcntl
import logging
import os
import signal
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from tracker import db
from tracker.services import jobs

log = logging.getLogger(__name__)

#: pg_try_advisory_lock key of the scheduler: "tracker" in ASCII, the same for every tracker process.
ADVISORY_LOCK_KEY = 0x74_72_61_63_6B_65_72
#: A run that starts late (the process was down, the machine asleep) still runs within this many seconds.
MISFIRE_GRACE_SECONDS = 3600
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}


class SchedulerLocked(RuntimeError):
    """Another scheduler already holds the lock of this database."""


def N_(text: str) -> str:
    """Mark a schedule word for the catalogue (babel.cfg extracts this module); translated where it is shown."""
    return text


#: The words of a schedule (Traditional Chinese; the message ids a page may translate).
SCHEDULE_WORDS = {
    "daily": N_("每日 %(time)s"),
    "weekly": N_("每週%(weekday)s %(time)s"),
    "monthly": N_("每月 %(day)s 日 %(time)s"),
    "yearly": N_("每年 %(month)s 月 %(day)s 日 %(time)s"),
}
#: APScheduler's day_of_week: 0 is Monday.
WEEKDAY_WORDS = (N_("一"), N_("二"), N_("三"), N_("四"), N_("五"), N_("六"), N_("日"))
_WORDABLE_FIELDS = {"month", "day", "day_of_week", "hour", "minute"}


def schedule_words(cron: dict[str, Any], translate: Callable[[str], str] = lambda text: text) -> str:
    """A job's cron fields in words: 「每日 07:00」, 「每月 1 日 08:00」, 「每週一 08:00」; ValueError for
    fields these words cannot say (a step, a list, seconds), so a schedule is never shown wrongly."""
    plain = all(type(value) is int for value in cron.values())  # no "*/5", no "7,19"
    if (not plain or set(cron) - _WORDABLE_FIELDS or "hour" not in cron
            or ("day_of_week" in cron and ("day" in cron or "month" in cron or not 0 <= cron["day_of_week"] <= 6))
            or ("month" in cron and "day" not in cron)):
        raise ValueError(f"cannot put the cron fields {cron!r} into words")
    # CronTrigger sets the fields below the largest one given to their minimum: {"hour": 7} fires at 07:00:00.
    values = {"time": f"{cron['hour']:02d}:{cron.get('minute', 0):02d}", "day": cron.get("day"),
              "month": cron.get("month")}
    if "month" in cron:
        kind = "yearly"
    elif "day" in cron:
        kind = "monthly"
    elif "day_of_week" in cron:
        kind = "weekly"
        values["weekday"] = translate(WEEKDAY_WORDS[cron["day_of_week"]])
    else:
        kind = "daily"
    return translate(SCHEDULE_WORDS[kind]) % values


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: its id and its cron fields (in the configured timezone)."""

    id: str
    cron: dict[str, Any]

    @property
    def when(self) -> str:
        """The schedule in words, from the cron fields themselves (never a second, hand-written copy)."""
        return schedule_words(self.cron)

    def trigger(self, tz: ZoneInfo) -> CronTrigger:
        """The job's trigger in this timezone."""
        return CronTrigger(timezone=tz, **self.cron)


def job_specs(config) -> list[JobSpec]:
    """The jobs the scheduler runs; the digest only when e-mail is enabled."""
    # The escalation runs the day after the reporting deadline (the 11th by default).
    escalation_day = min(int(config["PROGRESS_REPORT_DAY"]) + 1, 28)
    specs = [
        JobSpec(jobs.SLIP_SCAN, {"hour": 7, "minute": 0}),
        JobSpec(jobs.EXECUTION_SCAN, {"hour": 1, "minute": 30}),
        JobSpec(jobs.PROGRESS_REMINDER, {"day": 1, "hour": 8, "minute": 0}),
        JobSpec(jobs.PROGRESS_ESCALATION, {"day": escalation_day, "hour": 8, "minute": 0}),
        JobSpec(jobs.RETENTION_PRUNE, {"day": 1, "hour": 3, "minute": 0}),
    ]
    if config.get("MAIL_ENABLED"):
        specs.append(JobSpec(jobs.EMAIL_DIGEST, {"hour": 7, "minute": 30}))
    return specs


def scheduled_run(app: Flask, job_id: str, today: date | None = None) -> None:
    """What the scheduler calls: run a job and record it; never let an error reach the scheduler."""
    try:
        jobs.run_named(app, job_id, today)
    except Exception:  # noqa: BLE001 - e.g. the database is down: log it, the next run tries again
        log.exception("job %s could not be run or recorded", job_id)


def build_scheduler(app: Flask, scheduler_cls: type[BaseScheduler] = BackgroundScheduler) -> BaseScheduler:
    """A scheduler of the given class holding every job (not started)."""
    tz = ZoneInfo(app.config["TIMEZONE"])
    # One worker: jobs due together (after downtime, say) run one after another instead of
    # contending for SQLite's single writer.
    scheduler = scheduler_cls(timezone=tz, job_defaults=dict(JOB_DEFAULTS),
                              executors={"default": ThreadPoolExecutor(max_workers=1)})
    for spec in job_specs(app.config):
        scheduler.add_job(scheduled_run, spec.trigger(tz), args=(app, spec.id), id=spec.id,
                          name=jobs.JOB_LABELS[spec.id], replace_existing=True, **JOB_DEFAULTS)
    return scheduler


def job_table(app: Flask, scheduler: BaseScheduler | None = None,
              translate: Callable[[str], str] = lambda text: text) -> list[dict]:
    """The jobs as rows: id, label, schedule in words, trigger, timezone, next run (from the running
    scheduler when given, else the trigger)."""
    tz = ZoneInfo(app.config["TIMEZONE"])
    now = datetime.now(tz)
    live = {job.id: job for job in scheduler.get_jobs()} if scheduler is not None else {}
    rows = []
    for spec in job_specs(app.config):
        trigger = spec.trigger(tz)
        job = live.get(spec.id)
        if job is not None and hasattr(job, "next_run_time"):  # a pending job has none until start, unless set
            next_run = job.next_run_time
        else:
            next_run = trigger.get_next_fire_time(None, now)
        rows.append({"id": spec.id, "label": jobs.JOB_LABELS[spec.id], "when": schedule_words(spec.cron, translate),
                     "trigger": str(trigger), "timezone": str(tz), "next_run": next_run, **JOB_DEFAULTS})
    return rows


# --- at start: runs left behind, runs missed ------------------------------------------------------------------


def latest_fire_time(trigger: CronTrigger, now: datetime, within: timedelta) -> datetime | None:
    """The latest time the trigger fired at or before now, if it fired in the window [now - within, now]."""
    latest = None
    fire = trigger.get_next_fire_time(None, now - within)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def missed_jobs(app: Flask, now: datetime | None = None) -> list[tuple[JobSpec, datetime]]:
    """The jobs whose latest fire time lies within MISFIRE_GRACE_SECONDS before now with no run started
    since (an interrupted run does not count), each with that fire time."""
    tz = ZoneInfo(app.config["TIMEZONE"])
    now = (now or datetime.now(tz)).astimezone(tz)
    missed = []
    with db.new_session(app) as session:
        for spec in job_specs(app.config):
            fired = latest_fire_time(spec.trigger(tz), now, timedelta(seconds=MISFIRE_GRACE_SECONDS))
            if fired is not None and not jobs.ran_since(session, spec.id, fired):
                missed.append((spec, fired))
    return missed


def start_up(app: Flask, scheduler: BaseScheduler, now: datetime | None = None) -> None:
    """What a scheduler does once it holds the lock, before it starts: mark the runs of dead processes
    interrupted, and make each job missed within its grace time due at once (it runs once, now)."""
    try:
        with app.app_context(), db.new_session(app) as session:
            for run in jobs.mark_interrupted(session, now):
                log.warning("job %s: run %s (started by %s on %s, pid %s) never finished; marked interrupted",
                            run.job_id, run.id, run.started_by, run.host or "?", run.pid or "?")
            session.commit()
        missed = missed_jobs(app, now)
    except Exception:  # noqa: BLE001 - e.g. the database is down: the scheduler still starts, its jobs retry
        log.exception("could not check for interrupted and missed runs at start")
        return
    for spec, fired in missed:
        # Due now by the real clock (not `now`, which a test may set): the job runs as soon as the scheduler
        # starts, once, and its trigger then gives the next regular time.
        scheduler.modify_job(spec.id, next_run_time=datetime.now(scheduler.timezone))
        log.info("job %s missed its run at %s (within the %s-minute grace): running it now", spec.id,
                 fired.isoformat(timespec="minutes"), MISFIRE_GRACE_SECONDS // 60)


# --- one scheduler per database ------------------------------------------------------------------------------


class SchedulerLock:
    """The lock that lets one scheduler run per database: a PostgreSQL advisory lock or a lock file."""

    def __init__(self, url: str):
        self.url = sa.engine.make_url(db.normalise_url(url))
        self._file: int | None = None
        self._engine: sa.Engine | None = None
        self._connection: sa.Connection | None = None

    @property
    def database(self) -> str:
        """The database as a person would name it (no password)."""
        if self.url.get_backend_name() == "sqlite" and self.url.database:
            return str(Path(self.url.database).resolve())
        return self.url.render_as_string(hide_password=True)

    def _locked(self) -> SchedulerLocked:
        return SchedulerLocked(f"another tracker scheduler is already running for {self.database}")

    def _is_memory(self) -> bool:
        name = self.url.database or ""
        return name in ("", ":memory:") or self.url.query.get("mode") == "memory" or name.startswith("file::memory:")

    @property
    def path(self) -> Path | None:
        """The lock file of a SQLite database (None for other databases and in-memory SQLite)."""
        if self.url.get_backend_name() != "sqlite" or self._is_memory():
            return None
        database = Path(self.url.database).resolve()
        return database.with_name(database.name + ".scheduler.lock")

    def acquire(self) -> None:
        """Take the lock, or raise SchedulerLocked naming the database."""
        backend = self.url.get_backend_name()
        if backend == "sqlite":
            if self.path is not None:
                self._acquire_file(self.path)
            return  # in-memory SQLite: nothing another process could share, so nothing to lock
        if backend == "postgresql":
            self._acquire_advisory()
            return
        raise SchedulerLocked(f"cannot make sure only one scheduler runs for {self.database}: "
                              f"unsupported database {backend!r}")

    def _acquire_file(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._locked() from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))  # who holds it, for a person looking
        self._file = fd

    def _acquire_advisory(self) -> None:
        # A connection of its own, kept open: the advisory lock lives as long as this session does.
        engine = db.make_engine(str(self.url.render_as_string(hide_password=False)), poolclass=sa.pool.NullPool)
        try:
            connection = engine.connect()
        except BaseException:
            engine.dispose()
            raise
        try:
            got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar()
            connection.commit()  # session-level lock: it outlives the transaction; do not sit idle in one
        except BaseException:
            connection.close()
            engine.dispose()
            raise
        if not got:
            connection.close()
            engine.dispose()
            raise self._locked()
        self._engine, self._connection = engine, connection

    @property
    def is_held(self) -> bool:
        """Whether this object holds a lock (an in-memory database needs none)."""
        return self._file is not None or self._connection is not None

    def release(self) -> None:
        """Let another scheduler start; safe to call twice."""
        if self._file is not None:
            try:
                fcntl.flock(self._file, fcntl.LOCK_UN)
            finally:
                os.close(self._file)
                self._file = None
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                self._connection.commit()
            except sa.exc.DBAPIError:
                log.warning("could not unlock the scheduler lock; closing its connection releases it")
            finally:
                self._connection.close()
                self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def lock_for(app: Flask) -> SchedulerLock:
    """The scheduler lock of the app's database."""
    return SchedulerLock(app.config["DATABASE_URL"])


def _log_table(app: Flask, scheduler: BaseScheduler | None = None) -> None:
    for row in job_table(app, scheduler):
        log.info("job %-28s %-16s next %s", row["id"], row["when"],
                 row["next_run"].isoformat(timespec="minutes") if row["next_run"] else "—")


class _Stop(BaseException):
    """Raised by the SIGTERM handler to leave the blocking scheduler's loop."""


def run_blocking(app: Flask, now: datetime | None = None) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM; SchedulerLocked when another one runs.
    ``now`` stands in for the clock of the start-up checks (tests)."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        def _on_sigterm(signum, frame):  # noqa: ANN001
            raise _Stop()

        # Before the lock is taken: a SIGTERM at any moment after it still releases the lock cleanly.
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    lock = lock_for(app)
    scheduler = None
    try:
        lock.acquire()
        try:
            scheduler = build_scheduler(app, BlockingScheduler)
            log.info("tracker scheduler for %s (timezone %s)", lock.database, app.config["TIMEZONE"])
            start_up(app, scheduler, now)
            _log_table(app, scheduler)
            scheduler.start()
        except (KeyboardInterrupt, _Stop):
            log.info("stopping the scheduler; waiting for running jobs")
        finally:
            if scheduler is not None and scheduler.running:
                scheduler.shutdown(wait=True)
            lock.release()
    except _Stop:
        log.info("stopped before the scheduler started")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def start_background(app: Flask, now: datetime | None = None) -> BackgroundScheduler | None:
    """Start the jobs in this process's background (tracker serve); None when another scheduler holds the lock.
    ``now`` stands in for the clock of the start-up checks (tests)."""
    lock = lock_for(app)
    try:
        lock.acquire()
    except SchedulerLocked as exc:
        log.info("%s; this server runs no jobs", exc)
        return None
    try:
        scheduler = build_scheduler(app, BackgroundScheduler)
        start_up(app, scheduler, now)
        scheduler.start()
    except BaseException:
        lock.release()
        raise

    def _stop() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        lock.release()

    app.extensions["tracker.scheduler"] = scheduler
    app.extensions["tracker.scheduler_stop"] = _stop
    atexit.register(_stop)
    _log_table(app, scheduler)
    return scheduler


def stop_background(app: Flask) -> None:
    """Stop the background scheduler started by start_background and release its lock."""
    stop = app.extensions.pop("tracker.scheduler_stop", None)
    app.extensions.pop("tracker.scheduler", None)
    if stop is not None:
        atexit.unregister(stop)
        stop()

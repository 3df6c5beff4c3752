"""The Gantt PDF, PNG and page against Redmine 5 on the same 300 dated items, in one run; and at 5,000 rows.

    python bench/gantt_compare.py [--n 10] [--png-n 3] [--big-db sqlite:////tmp/perf/scale1.db]

Part 1 (300 items) needs both servers up with the same data: Redmine from ../shared/peers/redmine/setup.sh
(Redmine 5 from Debian, SQLite, thin, 127.0.0.1:3000, 300 issues in 20 versions) and the tracker loaded
from it by side-by-side/setup_tracker.sh (300 programmes, one milestone each, under 21 work plans;
gunicorn -w 2 on 127.0.0.1:8391). Every request is one curl call (a new connection), timed by curl's
time_total, interleaved: a round is one Redmine request, one tracker request made cold and one warm,
the order reversed every other round. Cold: just before the request a manager reports progress on 10
programmes (a real change, committed through the tracker's own session, so the data stamp moves and no
cached bytes or lights are served); warm: the same request again, served from the stamp cache.
The tracker's page is /gantt plus whatever chart it embeds (<object data>, <img src>, <iframe src>),
timed as their sum; Redmine's is its HTML gantt of the 48 months.

Part 2 (5,000 rows, the tracker alone): bench/generate.py's scale-1 portfolio (built once into --big-db
if it is not there), in this process with Flask's test client, every request cold (after a change).
Prints one line per endpoint and writes everything to --out (JSON).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate, has_synthetic_portfolio  # noqa: E402
from run import bench_app, touch  # noqa: E402

from tracker import db, migrate  # noqa: E402
from tracker.models import User  # noqa: E402

REDMINE = "http://127.0.0.1:3000"
ALL48 = "set_filter=1&status_id=*&month=1&year=2017&months=48"
RP = "/projects/bench/issues"
#: (name, Redmine's path, the tracker's path)
PAIRS = [("gantt_pdf", f"{RP}/gantt.pdf?{ALL48}", "/gantt.pdf"),
         ("gantt_png", f"{RP}/gantt.png?{ALL48}", "/gantt.png"),
         ("gantt_page", f"{RP}/gantt?{ALL48}", "/gantt")]
EMBEDDED = re.compile(r'<(?:object[^>]*\bdata|img[^>]*\bsrc|iframe[^>]*\bsrc)="([^"]*/gantt[^"]*)"')


def curl(jar: Path, url: str, body: str = "/dev/null") -> tuple[int, int, float]:
    """One request on a new connection: HTTP status, bytes, seconds (curl's time_total)."""
    out = subprocess.run(["curl", "-s", "-b", str(jar), "-o", body, "-w", "%{http_code} %{size_download} %{time_total}",
                          url], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1]), float(out[2])


def login(jar: Path, base: str, token_field: str, name_field: str, name: str, password: str) -> None:
    """Log in through the app's form (CSRF token from the page), keeping the cookie in ``jar``."""
    page = subprocess.run(["curl", "-sf", "-c", str(jar), "-b", str(jar), f"{base}/login"], capture_output=True,
                          text=True, check=True).stdout
    token = re.search(rf'name="{token_field}"[^>]*value="([^"]+)"', page).group(1)
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-c", str(jar), "-b", str(jar),
                           "--data-urlencode", f"{token_field}={token}", "--data-urlencode", f"{name_field}={name}",
                           "--data-urlencode", f"password={password}", f"{base}/login"],
                          capture_output=True, text=True, check=True).stdout
    if code != "302":
        raise SystemExit(f"login to {base} failed (HTTP {code})")


def stats(seconds: list[float]) -> dict:
    """Median, min and max in milliseconds."""
    return {"n": len(seconds), "median_ms": round(statistics.median(seconds) * 1000, 1),
            "min_ms": round(min(seconds) * 1000, 1), "max_ms": round(max(seconds) * 1000, 1)}


def compare(args) -> dict:
    """Part 1: Redmine and the tracker on the same 300 items, interleaved."""
    app = bench_app(args.tracker_db)  # to change the data between requests, as a manager's report does
    tmp = Path(tempfile.mkdtemp(prefix="gantt-bench-"))
    rjar, tjar = tmp / "r.jar", tmp / "t.jar"
    login(rjar, REDMINE, "authenticity_token", "username", "admin", args.redmine_password)
    login(tjar, args.tracker, "csrf_token", "name", args.tracker_user, args.tracker_password)
    results, change = {}, 0
    for name, rpath, tpath in PAIRS:
        n = args.png_n if name == "gantt_png" else args.n
        page = tmp / "page.html"
        code, _, _ = curl(tjar, args.tracker + tpath, str(page))
        assert code == 200, (tpath, code)
        parts = [tpath]
        if name == "gantt_page":
            parts += [p.replace("&amp;", "&") for p in EMBEDDED.findall(page.read_text("utf-8"))]
        for _ in range(args.warmup):
            assert curl(rjar, REDMINE + rpath)[0] == 200, rpath

        def tracker_once() -> tuple[float, int]:
            total, size = 0.0, 0
            for part in parts:
                code, got, seconds = curl(tjar, args.tracker + part)
                assert code == 200, (part, code)
                total += seconds
                size += got
            return total, size

        times: dict[str, list[float]] = {"redmine": [], "tracker_cold": [], "tracker_warm": []}
        sizes = {}
        for rnd in range(n):
            steps = ["redmine", "tracker_cold", "tracker_warm"]
            if rnd % 2:
                steps = ["tracker_cold", "tracker_warm", "redmine"]
            for step in steps:
                if step == "redmine":
                    code, sizes["redmine"], seconds = curl(rjar, REDMINE + rpath)
                    assert code == 200, (rpath, code)
                else:
                    if step == "tracker_cold":
                        touch(app, change)  # a change: the next request builds everything afresh
                        change += 1
                    seconds, sizes["tracker"] = tracker_once()
                times[step].append(seconds)
        res = {key: stats(value) for key, value in times.items()}
        res["bytes"], res["tracker_parts"], res["redmine_path"] = sizes, parts, rpath
        res["ratio_cold"] = round(res["redmine"]["median_ms"] / res["tracker_cold"]["median_ms"], 1)
        res["ratio_warm"] = round(res["redmine"]["median_ms"] / res["tracker_warm"]["median_ms"], 1)
        results[name] = res
        print(f"{name:<11} Redmine {res['redmine']['median_ms']:8.1f} ms | tracker cold {res['tracker_cold']['median_ms']:7.1f}"
              f" ms ({res['ratio_cold']:5.1f}x) warm {res['tracker_warm']['median_ms']:6.1f} ms ({res['ratio_warm']:6.1f}x)"
              f" | n={n} parts={parts}", flush=True)
    db.get_engine(app).dispose()
    return results


def big(args) -> dict:
    """Part 2: the tracker alone at 5,000 rows, in process, every request after a change."""
    if not has_synthetic_portfolio(args.big_db):
        generate(args.big_db, 1, echo=lambda *_: None)
    app = bench_app(args.big_db)
    migrate.upgrade(db.get_engine(app))
    with db.new_session(app) as session:
        admin = session.scalars(sa.select(User).where(User.role == "admin").limit(1)).one().name
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    if client.post("/login", data={"name": admin, "password": "bench-password-1", "csrf_token": csrf}).status_code != 302:
        raise SystemExit("login to the 5,000-row portfolio failed")
    results = {}
    for name, path in (("gantt_pdf", "/gantt.pdf?rows=5000"), ("gantt_png", "/gantt.png?rows=5000"),
                       ("gantt_page", "/gantt?rows=5000")):
        first = client.get(path)
        assert first.status_code == 200, (path, first.status_code)
        parts = [path]
        if name == "gantt_page":
            parts += [p.replace("&amp;", "&") for p in EMBEDDED.findall(first.get_data(as_text=True))]
        seconds, size = [], 0
        for rnd in range(args.big_n):
            touch(app, 100 + rnd)
            started = time.perf_counter()
            size = 0
            for part in parts:
                response = client.get(part)
                assert response.status_code == 200, (part, response.status_code)
                size += len(response.data)
            seconds.append(time.perf_counter() - started)
        results[name] = {**stats(seconds), "bytes": size, "parts": parts}
        print(f"{name:<11} 5,000 rows cold {results[name]['median_ms']:8.1f} ms (n={args.big_n}, {size:,} bytes)"
              f" parts={parts}", flush=True)
    return results


def main() -> None:
    """Run both parts and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10, help="rounds per endpoint (PDF, page)")
    ap.add_argument("--png-n", type=int, default=3, help="rounds for the PNG (Redmine's takes seconds)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--tracker", default="http://127.0.0.1:8391")
    ap.add_argument("--tracker-db", default="sqlite:////tmp/perf/tracker-data/tracker.db")
    ap.add_argument("--tracker-user", default="benchadmin")
    ap.add_argument("--tracker-password", default="perf-bench-password-1")
    ap.add_argument("--redmine-password", default="admin12345")
    ap.add_argument("--big-db", default="sqlite:////tmp/perf/scale1.db")
    ap.add_argument("--big-n", type=int, default=3)
    ap.add_argument("--skip", choices=["compare", "big"], default=None)
    ap.add_argument("--out", default="/tmp/perf/gantt-compare.json")
    args = ap.parse_args()
    (ROOT / "bench" / ".data").mkdir(exist_ok=True)  # bench_app's data directory
    result = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "load_start": open("/proc/loadavg").read().split()[:3]}
    if args.skip != "compare":
        result["rows_300"] = compare(args)
    if args.skip != "big":
        result["rows_5000"] = big(args)
    result["load_end"] = open("/proc/loadavg").read().split()[:3]
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"# load {result['load_start']} -> {result['load_end']}; written to {args.out}")


if __name__ == "__main__":
    main()

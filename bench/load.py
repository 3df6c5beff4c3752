"""Throughput: the portfolio page under gunicorn (2 workers) on loopback, 50 concurrent clients for 30 s.

    python bench/load.py [--scale 1] [--db URL] [--seconds 30] [--clients 50] [--workers 2]

Uses wrk (Debian's package) when it is installed, else a bounded Python load generator. The run stops
by itself; it prints one JSON object with requests per second, errors, p50 and p99 in milliseconds.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate, has_synthetic_portfolio  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login(base: str) -> str:
    """A session cookie for a benchmark admin, through the real login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = opener.open(f"{base}/login").read().decode("utf-8")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"name": "bench003", "password": "bench-password-1", "csrf_token": token}).encode()
    opener.open(f"{base}/login", data=data)
    cookies = [c for handler in opener.handlers if hasattr(handler, "cookiejar") for c in handler.cookiejar]
    return "; ".join(f"{c.name}={c.value}" for c in cookies)


def _python_load(port: int, path: str, cookie: str, seconds: float, clients: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Cookie": cookie})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                connection.close()
                connection = HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                latencies.append((time.perf_counter() - started) * 1000) if ok else None
                errors[0] += 0 if ok else 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {"tool": "python", "requests_per_s": round(len(latencies) / seconds, 1), "errors": errors[0],
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None}


def _wrk(port: int, path: str, cookie: str, seconds: int, clients: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "-H", f"Cookie: {cookie}",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 60).stdout
    print(out, file=sys.stderr)  # wrk's own report, for the record
    def latency(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not m:
            return None
        value, unit = float(m.group(1)), m.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 1)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"tool": "wrk", "requests_per_s": float(rps.group(1)) if rps else None,
            "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0), "p50_ms": latency(50), "p99_ms": latency(99)}


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", default=None)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    url = args.db
    if url is None:
        path = ROOT / "bench" / ".data" / f"bench-{args.scale:g}.db"
        path.parent.mkdir(exist_ok=True)
        url = f"sqlite:///{path}"
    if not has_synthetic_portfolio(url):
        generate(url, args.scale, echo=lambda *_: None)
    from tracker import db, migrate

    migrate.upgrade(db.make_engine(url))  # a kept benchmark database follows the schema of the code being measured
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="tracker-load-")
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_SECRET_KEY": "load-test-" * 4, "TRACKER_DATA_DIR": data_dir,
           "TRACKER_RUN_SCHEDULER_IN_SERVER": "0", "TRACKER_LOG_LEVEL": "warning"}
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen([gunicorn, "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                               "tracker.wsgi:app"], env=env, cwd=str(ROOT))
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        cookie = _login(base)
        page = "/?as_of=2021-08-31"
        warm = urllib.request.urlopen(urllib.request.Request(base + page, headers={"Cookie": cookie}))  # warms caches
        if "/login" in warm.geturl() or "重要計畫總覽" not in warm.read().decode("utf-8"):
            raise SystemExit("load test: the benchmark login did not reach the portfolio page")
        result = (_wrk if shutil.which("wrk") else _python_load)(port, page, cookie, args.seconds, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps({"scale": args.scale, "workers": args.workers, "clients": args.clients, "seconds": args.seconds,
                      "page": "portfolio", **result}))


if __name__ == "__main__":
    main()

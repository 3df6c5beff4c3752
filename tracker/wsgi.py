"""WSGI entry point for production servers: `gunicorn -w 2 'tracker.wsgi:app'`."""
import sys

from tracker.app import create_app
from tracker.config import ConfigError

try:
    #: The application; configuration comes from TRACKER_* environment variables.
    app = create_app()
except ConfigError as exc:  # a wrong setting stops the server with its name, not a traceback
    print(f"tracker: {exc}", file=sys.stderr)
    raise SystemExit(1) from None

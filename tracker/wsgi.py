"""WSGI entry point for production servers: `gunicorn -w 2 'tracker.wsgi:app'`."""
from tracker.app import create_app

#: The application; configuration comes from TRACKER_* environment variables.
app = create_app()

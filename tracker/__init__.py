"""Capital project portfolio tracker of the Ministry of Justice (法務部)."""
from tracker.app import create_app

__all__ = ["create_app"]

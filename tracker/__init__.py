"""Capital project portfolio tracker of the Ministry of Justice (法務部).

Imports nothing, so that importing a rule (tracker.domain) never boots the web stack; the app is
``from tracker.app import create_app``.
"""

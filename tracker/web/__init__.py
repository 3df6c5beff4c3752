"""Blueprints: read input, call a service, commit, respond."""

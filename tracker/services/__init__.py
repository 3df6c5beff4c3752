"""Use cases named for what a user does; each takes a session and never commits for a view."""

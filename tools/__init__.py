"""The desk's behaviour as plain async functions: tickets, kb, ingest, search, analytics, voice.

Every call takes an :class:`tools.actor.Actor`; the permission rules live here, once, for the MCP
server, the UI and the agent alike. Failures raise :class:`tools.errors.DeskError` subclasses whose
message tells the caller what to fix.
"""

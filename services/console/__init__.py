"""The staff console: server-rendered pages over the gateway's /api/v1 (issue 13)."""

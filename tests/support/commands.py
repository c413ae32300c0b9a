"""A pymongo command listener for tests that count a path's store commands exactly."""

from __future__ import annotations

from pymongo import monitoring


class Commands(monitoring.CommandListener):
    """The commands a client sends, by name and collection."""

    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def started(self, event):
        self.seen.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

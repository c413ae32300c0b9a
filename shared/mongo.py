"""The one place services get a MongoDB client: one pooled client per URI per process."""

from __future__ import annotations

import threading

from pymongo import MongoClient
from pymongo.database import Database

_clients: dict[str, MongoClient] = {}
_lock = threading.Lock()


def get_client(uri: str) -> MongoClient:
    """Return the process-wide client for ``uri`` (pymongo pools connections itself)."""
    with _lock:
        client = _clients.get(uri)
        if client is None:
            client = MongoClient(
                uri,
                tz_aware=True,
                serverSelectionTimeoutMS=5000,
                connectTimeoutMS=5000,
                socketTimeoutMS=30000,
                appname="unionhub",
            )
            _clients[uri] = client
        return client


def get_database(uri: str, name: str) -> Database:
    return get_client(uri)[name]


def close_all() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()

"""One module per part of the year; each exposes ``SCENARIO`` (see ``scripts.replay.model``)."""

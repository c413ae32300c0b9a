"""Benchmarks of unionhub (BENCH.md): `make bench` or `python -m bench [NAME...]`."""

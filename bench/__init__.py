"""Benchmarks, each run as a module (`python -m bench.snmp_poll`); bench/README.md explains them."""

"""One module per contender, each run as `python -m bench.contenders.<name>` in a process of its own."""

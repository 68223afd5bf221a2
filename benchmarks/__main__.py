"""`python -m benchmarks`: see benchmarks/cli.py and the README, "Benchmarks"."""

from benchmarks.cli import main

raise SystemExit(main())

"""Entry point of ``python -m lplbounds``."""

from lplbounds.cli import main

raise SystemExit(main())

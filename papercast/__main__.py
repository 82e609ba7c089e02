"""``python -m papercast``."""

from papercast.cli import main

raise SystemExit(main())

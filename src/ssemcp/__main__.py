"""``python -m ssemcp``: the same as the ``ssemcp`` command."""

from ssemcp.cli import main

main()

"""``python -m alpinist``: the same as the ``alpinist`` command."""

from alpinist.cli.app import main

main()

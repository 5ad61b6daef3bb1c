"""`python -m i18n_connect` runs the command line."""

from i18n_connect.cli import main

main()

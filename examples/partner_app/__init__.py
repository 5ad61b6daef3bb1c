"""An example partner app of i18n-connect (Starlette + SQLite + the partner SDK).

Run it with ``python -m examples.partner_app`` from the repository root;
``i18n-connect demo`` serves it beside the server. See docs/partner-guide.md.
"""

from examples.partner_app.app import create_app
from examples.partner_app.config import Config

__all__ = ["Config", "create_app"]

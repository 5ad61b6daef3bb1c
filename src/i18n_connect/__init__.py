"""i18n-connect: the partner-access layer of a translation-management platform.

``i18n_connect.client``, the partner SDK, is its own distribution (``i18n-connect-client``,
the repository's ``client/`` directory). Installed as wheels both land in one ``i18n_connect``
directory; installed in editable mode from a checkout they are two directories, which
`pkgutil.extend_path` joins.
"""

from pkgutil import extend_path

__all__ = ["__version__"]

__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"

"""i18n-connect: the partner-access layer of a translation-management platform."""

__all__ = ["__version__"]

__version__ = "0.1.0"

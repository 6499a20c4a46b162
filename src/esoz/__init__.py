"""esoz — an open implementation of Ukraine's e-health central database (ЕСОЗ)."""

__version__ = "0.1.0"

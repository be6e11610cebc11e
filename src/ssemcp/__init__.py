"""ssemcp: a Model Context Protocol server and client over stdio, HTTP+SSE and Streamable HTTP."""

from ssemcp._version import __version__

__all__ = ["__version__"]

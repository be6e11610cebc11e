"""Transports: each moves bytes for one wire (stdio, legacy HTTP+SSE, Streamable HTTP)."""

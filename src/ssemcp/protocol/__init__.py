"""The MCP protocol core: revisions, the session state machine, pagination. No I/O.

Everything here takes parsed messages and returns messages or actions; it imports no asyncio,
socket or clock, so every protocol rule is tested without a transport.
"""

"""The servers under test, one module each, every one with the same ``echo`` tool."""

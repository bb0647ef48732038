"""The MCP surface: tools, resources and prompts over stdio and streamable HTTP; thin over tools/."""

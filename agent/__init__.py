"""The support agent: a LangGraph conversation that reaches the desk only through its MCP tools."""

"""The outputs: the Jinja2 environment and its filters (render, filters), what the compose stack's
containers are told (stack, wiring), the consumers' limits (limits), verification by the readers'
schemas (verify), and atomic writing (writing)."""

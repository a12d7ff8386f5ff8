"""How we talk: transports, message handlers, Q&A, consultation records."""

"""Transports translate platform events into core.transport.InboundMessage and send text. Nothing else."""

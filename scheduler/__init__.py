"""When we say it: key-date calendar, campaign plans, queue, outbox, dispatcher."""

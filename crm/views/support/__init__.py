"""The support desk pages: queues (queues.py), the ticket page and its actions (tickets.py), the public web form
and CSAT page (public.py), the inbound mail endpoint (inbound.py) and metrics (metrics.py)."""

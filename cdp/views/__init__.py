"""CDP pages (sources, debugger, imports) and the email webhooks; see cdp/urls.py."""

"""The Segment-compatible collection API (/v1/...): plain Django views, no CSRF, no session."""

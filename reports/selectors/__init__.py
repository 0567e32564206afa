"""Report selectors: each runs ONE SQL query over rows scoped by crm's visibility selectors and shapes the
result with pandas (no Python loops over rows)."""

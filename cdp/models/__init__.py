from cdp.models.sources import Source

__all__ = ["Source"]

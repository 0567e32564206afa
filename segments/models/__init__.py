from segments.models.membership import Membership, SizeSnapshot
from segments.models.segment import Segment

__all__ = ["Membership", "Segment", "SizeSnapshot"]

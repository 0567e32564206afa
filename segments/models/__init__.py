from segments.models.membership import Membership, SizeSnapshot
from segments.models.scoring import ProfileScore, ScoreModel
from segments.models.segment import Segment

__all__ = ["Membership", "ProfileScore", "ScoreModel", "Segment", "SizeSnapshot"]

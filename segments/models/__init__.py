from segments.models.destinations import ActionRun, Delivery, Destination, ExportFile, ExportSchedule
from segments.models.membership import Membership, SizeSnapshot
from segments.models.scoring import ProfileScore, ScoreModel
from segments.models.segment import Segment

__all__ = ["ActionRun", "Delivery", "Destination", "ExportFile", "ExportSchedule", "Membership", "ProfileScore",
           "ScoreModel", "Segment", "SizeSnapshot"]

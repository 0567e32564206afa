from cdp.models.events import EventProfile, IngestBatch, MessageDedupe, RawEvent, RejectedMessage
from cdp.models.sources import Source

__all__ = ["Source"]
__all__ += ["EventProfile", "IngestBatch", "MessageDedupe", "RawEvent", "RejectedMessage"]
from cdp.models.computed_traits import ComputedTrait  # noqa: E402
from cdp.models.identity import (  # noqa: E402
    BlockedValue,
    Identifier,
    IdentifierSplit,
    IdentitySettings,
    ProfileMerge,
    RefusedMerge,
)
from cdp.models.profiles import Account, Profile, ReadToken, ReadTokenScope  # noqa: E402

__all__ += [
    "Account", "BlockedValue", "ComputedTrait", "Identifier", "IdentifierSplit", "IdentitySettings", "Profile",
    "ProfileMerge", "ReadToken", "ReadTokenScope", "RefusedMerge",
]
from cdp.models.imports import EventImport  # noqa: E402

__all__ += ["EventImport"]

"""Value types and the operators each offers (shared by validation, the compiler, words and the builder)."""

STRING = "string"
NUMBER = "number"
DATE = "date"
BOOLEAN = "boolean"
VALUE_TYPES = (STRING, NUMBER, DATE, BOOLEAN)

OPERATORS: dict[str, dict[str, str]] = {
    STRING: {
        "equals": "is", "not_equals": "is not", "contains": "contains", "not_contains": "does not contain",
        "starts_with": "starts with", "in": "is one of", "not_in": "is none of",
        "is_set": "is set", "not_set": "is not set",
    },
    NUMBER: {
        "equals": "=", "not_equals": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "between": "between",
        "is_set": "is set", "not_set": "is not set",
    },
    DATE: {
        "before": "before", "after": "after", "within_last_days": "within the last", "within_next_days":
        "within the next", "between": "between", "is_set": "is set", "not_set": "is not set",
    },
    BOOLEAN: {"is_true": "is true", "is_false": "is false", "is_set": "is set", "not_set": "is not set"},
}

# Operators that also match a missing value (a profile without the trait "is not" anything).
NEGATIVE = {"not_equals", "not_contains", "not_in", "not_set"}
NO_VALUE = {"is_set", "not_set", "is_true", "is_false"}
LIST_VALUE = {"in", "not_in"}
DAYS_VALUE = {"within_last_days", "within_next_days"}

COUNT_OPS = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}
GROUP_TYPES = {"all": "all of", "any": "any of", "none": "none of"}
EVENT_TYPES = ("track", "page", "screen", "identify", "group")
TRAIT_SOURCES = ("profile", "computed", "account")
CONTACT_FIELDS = {"lifecycle_stage": STRING, "owner": NUMBER, "tags": STRING, "custom": None}
DEAL_FIELDS = {"pipeline": NUMBER, "stage": NUMBER, "status": STRING, "amount": NUMBER, "close_date": DATE}
TICKET_STATUSES = ("open", "any", "new", "pending", "on_hold", "solved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
SCORE_OPS = ("gte", "gt", "lte", "lt", "equals", "not_equals", "between")
MAX_DEPTH = 12
MAX_NODES = 200
MAX_DAYS = 36500

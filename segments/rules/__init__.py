"""The segment rule language: one JSON tree (groups all/any/none of conditions), validated into a normalised
tree (segments.rules.validation), compiled to one parameterised SQL query (segments.rules.compiler) and put
into words (segments.rules.words). See README "Segments: the rule language"."""

from segments.rules.validation import RuleError, validate_rule

__all__ = ["RuleError", "validate_rule"]

"""The roles of the product. Each is a Django auth group; superusers are the admins."""

SALES = "Sales"
SUPPORT = "Support"
MARKETING = "Marketing"
ALL_ROLES = (SALES, SUPPORT, MARKETING)

from cdp.selectors.source_pages import can_manage_sources


def nav(request, section: str) -> dict:
    """Context for the CDP sub-navigation."""
    return {"section": section, "can_manage": can_manage_sources(request.user)}

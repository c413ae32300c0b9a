"""Org scope for the job market. Employers, vacancies, seekers, fairs and intents belong to a
county (the market is a county's): city staff see every county, county staff their own, and a
grassroots unit's staff the county their unit lies in (they serve its job seekers at its fairs).
An unknown org sees nothing (shared.auth refuses it before)."""

from __future__ import annotations

from shared import orgs
from shared.auth import StaffPrincipal


def counties_of(staff: StaffPrincipal) -> list[str]:
    tree = orgs.tree()
    if tree.is_city_root(staff.org):
        return sorted(tree.counties)
    county = tree.county_of(staff.org)
    return [county] if county else []


def sees(staff: StaffPrincipal, county: str | None) -> bool:
    return county is not None and county in counties_of(staff)


def asked_counties(staff: StaffPrincipal, county: str | None) -> list[str]:
    """The counties a list asks for: the one named (if in scope, else none), or all in scope."""
    mine = counties_of(staff)
    if county is None:
        return mine
    return [county] if county in mine else []

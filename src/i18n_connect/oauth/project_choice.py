"""Which projects a grant covers, as a person chooses them (SPEC §3 "Consent screen", §6
"Connected apps"): every project of the organization, including future ones (the default), or
some of them.

A form says it per organization with ``projects-{organization id}`` (``all`` or ``some``) and
any number of ``project`` values (project ids). A project the form could not have offered, or
a mode other than ``all``/``some``, is tampering; ``some`` without a project asks again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from i18n_connect.grants import Projects
from i18n_connect.platform.organizations import Organization
from i18n_connect.platform.projects import Project

__all__ = ["ProjectChoiceError", "choose", "mode_field"]


class ProjectChoiceError(Exception):
    """The submitted choice is unusable: ``tampered`` when no page offered it."""

    def __init__(self, message: str, *, tampered: bool) -> None:
        self.message = message
        self.tampered = tampered
        super().__init__(message)


def mode_field(organization_id: str) -> str:
    """The form field that says ``all`` or ``some`` for one organization."""
    return f"projects-{organization_id}"


def _one(
    organization: Organization, mode: Sequence[str], chosen: set[str], offered: Sequence[Project]
) -> Projects:
    if not mode or list(mode) == ["all"]:
        return None
    if list(mode) != ["some"]:
        raise ProjectChoiceError(
            "The form's choice of projects is not one it offered.", tampered=True
        )
    picked = tuple(project.id for project in offered if project.id in chosen)
    if not picked:
        raise ProjectChoiceError(
            f"Choose at least one project of {organization.name}, or all its projects.",
            tampered=False,
        )
    return picked


def choose(
    form: Mapping[str, Sequence[str]],
    organizations: Iterable[Organization],
    offered: Mapping[str, Sequence[Project]],
) -> dict[str, Projects]:
    """Each organization's chosen projects (``None``: all), from a form that offered
    ``offered`` (organization id → its projects); `ProjectChoiceError` otherwise."""
    chosen = set(form.get("project", ()))
    known = {project.id for projects in offered.values() for project in projects}
    if chosen - known:
        raise ProjectChoiceError(
            "You can only choose projects of the organizations you connect.", tampered=True
        )
    return {
        organization.id: _one(
            organization,
            form.get(mode_field(organization.id), ()),
            chosen,
            offered.get(organization.id, ()),
        )
        for organization in organizations
    }

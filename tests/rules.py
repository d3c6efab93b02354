"""A manage rule for the API tests: proves the rule is the host's to plug in."""


def managers_group(project) -> str:
    return f"project-{project.pk}-managers"


def can_manage(user, project) -> bool:
    return user.groups.filter(name=managers_group(project)).exists()

"""Builders for the agile domain's tests: real objects, made through the services."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from example_project.agile import services
from example_project.agile.models import Company, Label, Project

_numbers = itertools.count(1)


def make_user(username: str | None = None, **profile: Any) -> AbstractBaseUser:
    """A user with an e-mail and a password (so tests can check neither leaks)."""
    username = username or f"user{next(_numbers)}"
    user = get_user_model().objects.create_user(
        username,
        email=f"{username}@example.com",
        password="correct horse battery staple",
        first_name=username.capitalize(),
        last_name="Tester",
    )
    if profile:
        for name, value in profile.items():
            setattr(user.profile, name, value)
        user.profile.save()
    return user


def make_company(name: str = "Acme Corp", slug: str | None = None) -> Company:
    return services.create_company(name, slug=slug or f"acme-{next(_numbers)}")


def make_project(company: Company, name: str = "Web Platform", slug: str | None = None) -> Project:
    return services.create_project(company, name, slug=slug or f"web-{next(_numbers)}")


def make_labels(company: Company, count: int) -> list[Label]:
    return [
        services.create_label(company, f"Label {next(_numbers)}", "#8B5CF6") for _ in range(count)
    ]

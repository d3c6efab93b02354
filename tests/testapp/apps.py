from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """The library's own host for its tests: projects with a plan, items with tags."""

    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class AgileConfig(AppConfig):
    name = "example_project.agile"
    label = "agile"
    default_auto_field = "django.db.models.BigAutoField"

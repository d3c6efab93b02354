from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class AgileConfig(AppConfig):
    name = "example_project.agile"
    label = "agile"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_save.connect(
            create_profile, sender=settings.AUTH_USER_MODEL, dispatch_uid="agile.create_profile"
        )


def create_profile(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from example_project.agile.models import Profile

        Profile.objects.get_or_create(user=instance)

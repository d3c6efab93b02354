from django.core.management.base import BaseCommand

from webhooks_app.engine.delivery import drain


class Command(BaseCommand):
    help = (
        "Send due webhook deliveries in this process, without a django-q2 cluster "
        "(for cron, or to debug a delivery)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--time-limit", type=float, default=None, help="Stop after this many seconds."
        )

    def handle(self, *args, time_limit=None, **options):
        attempted = drain(time_limit=time_limit)
        self.stdout.write(f"{attempted} delivery attempt(s) made.")

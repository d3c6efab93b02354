# The Celery app is made whenever Django starts, so that tasks are sent with it.
from shop.celery import app as celery_app

__all__ = ["celery_app"]

from django.db import models
from django.utils import timezone

import webhooks_app


class Store(models.Model):
    """What webhooks belong to (``WEBHOOKS["PROJECT_MODEL"]``)."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE)
    customer = models.EmailField()
    total = models.DecimalField(max_digits=10, decimal_places=2)
    shipped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Order {self.pk} for {self.customer}"

    def ship(self) -> None:
        self.shipped_at = timezone.now()
        self.save(update_fields=["shipped_at"])
        # Not a plain field change: an action, so it is emitted explicitly.
        webhooks_app.emit("orders.shipped", self.as_webhook_data, project=self.store_id)

    def as_webhook_data(self) -> dict:
        return {
            "id": self.pk,
            "customer": self.customer,
            "total": str(self.total),
            "shipped_at": self.shipped_at.isoformat() if self.shipped_at else None,
        }

"""Which changes of this app's models emit which webhook events (autodiscovered)."""

from example_project.agile.models import Task
from example_project.agile.serializers import TaskSerializer
from webhooks_app.registry import ModelEvents, register


@register(Task)
class TaskEvents(ModelEvents):
    serializer_class = TaskSerializer
    project_field = "project"
    created = "issues.store"
    updated = "issues.update"
    deleted = "issues.destroy"
    field_events = {"column": "issues.move.board", "project": "issues.move.project"}
    m2m_events = {"assignees": ("issues.assignees.store", "issues.assignees.destroy")}

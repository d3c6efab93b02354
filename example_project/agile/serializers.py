from rest_framework import serializers

from example_project.agile.models import Task


class TaskSerializer(serializers.ModelSerializer):
    workflow = serializers.SerializerMethodField()
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Task
        fields = ["uuid", "title", "description", "project", "workflow", "due_date"]

    def get_workflow(self, task):
        column = task.column
        if column is None:
            return None
        return {"title": column.title, "color": column.color, "position": column.position}

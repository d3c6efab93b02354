"""GitScrum's 26 webhook events, in its six categories: ``WEBHOOKS["EVENTS"] =
"example_project.agile.gitscrum.EVENTS"`` for an agile product that sends them."""

from webhooks_app.events import EventType

TASKS = "Task events"
TIME_TRACKING = "Time tracking events"
COMMENTS_MEDIA = "Comments & media events"
USER_STORIES = "User story events"
SPRINTS = "Sprint events"
OTHER = "Other events"

EVENTS: tuple[EventType, ...] = (
    EventType("issues.store", "Task created", TASKS),
    EventType("issues.update", "Task updated", TASKS),
    EventType("issues.move.board", "Task moved between board columns", TASKS),
    EventType("issues.assignees.store", "Assignee added to task", TASKS),
    EventType("issues.assignees.destroy", "Assignee removed from task", TASKS),
    EventType("issues.destroy", "Task deleted", TASKS),
    EventType("issues.move.project", "Task moved to another project", TASKS),
    EventType("time-tracking.issues.start", "Timer started", TIME_TRACKING),
    EventType("time-tracking.issues.stop", "Timer stopped", TIME_TRACKING),
    EventType("time-tracking.issues.cancel", "Timer cancelled", TIME_TRACKING),
    EventType("time-tracking.issues.destroy", "Time entry deleted", TIME_TRACKING),
    EventType("time-tracking.issues.store", "Manual time entry created", TIME_TRACKING),
    EventType("comments.issues.store", "Comment created", COMMENTS_MEDIA),
    EventType("comments.issues.destroy", "Comment deleted", COMMENTS_MEDIA),
    EventType("attachments.issues.store", "Attachment added", COMMENTS_MEDIA),
    EventType("attachments.issues.destroy", "Attachment removed", COMMENTS_MEDIA),
    EventType("videos.issues.store", "Video added", COMMENTS_MEDIA),
    EventType("videos.issues.destroy", "Video removed", COMMENTS_MEDIA),
    EventType("user-stories.store", "User story created", USER_STORIES),
    EventType("user-stories.update", "User story updated", USER_STORIES),
    EventType("user-stories.vote", "User story voted", USER_STORIES),
    EventType("user-stories.destroy", "User story deleted", USER_STORIES),
    EventType("sprints.store", "Sprint created", SPRINTS),
    EventType("sprints.update", "Sprint updated", SPRINTS),
    EventType("sprints.destroy", "Sprint deleted", SPRINTS),
    EventType("discussions.vote", "Discussion voted", OTHER),
)

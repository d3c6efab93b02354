from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from example_project.agile.models import Company, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "webhooks_link"]
    search_fields = ["name"]
    filter_horizontal = ["admins"]

    @admin.display(description="Webhooks")
    def webhooks_link(self, company: Company) -> str:
        """The company's Organization Settings → Webhooks page."""
        url = reverse("webhooks_org_portal:webhooks", kwargs={"organization_pk": company.pk})
        return format_html('<a href="{}">Organization Settings → Webhooks</a>', url)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "plan"]
    list_filter = ["plan", "company"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

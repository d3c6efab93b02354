from django.contrib import admin

from .models import Item, Project, Tag

admin.site.register([Project, Tag, Item])

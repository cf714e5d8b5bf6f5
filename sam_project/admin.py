"""Admin site branding."""

from django.contrib import admin

admin.site.site_header = "SAM control plane"
admin.site.site_title = "SAM admin"
admin.site.index_title = "Keys, workspaces and the AI proxy"
# "View site" leads to the page users see.
admin.site.site_url = "/settings/agents/"

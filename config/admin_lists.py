"""Admin changelists show a UUID by its first 8 characters, the whole one on hover.

A full UUID is 36 characters that wrap over four lines in a list column, and a few of them
push the other columns out of sight. The cells come from Django's ``items_for_result`` as
finished HTML, so the filter rewrites only text that is a UUID and nothing else: links keep
the full id in their address.
"""

import re

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

UUID_TEXT = re.compile(r">([0-9a-f]{8})(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})<")


@register.filter
def short_uuids(cell: SafeString) -> SafeString:
    return mark_safe(UUID_TEXT.sub(r'><span class="short-id" title="\1\2">\1</span><', cell))

"""Admin: the "Service status" page, its controls, and the audit log (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache

from apps.accounts.models import User
from apps.ops.controls import CONTROLS, ControlInput, control_deny, control_run
from apps.ops.health import overall_status
from apps.ops.models import AuditEntry, ServiceStatus, StatusChange
from apps.ops.reports import health_run
from apps.ops.selectors import maintenance_read, periodic_pause_get, status_changes_recent

REFRESH = 5  # seconds between live updates of the status page


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ServiceStatus)
class ServiceStatusAdmin(ReadOnlyAdmin):
    """The changelist is the live status page; controls hang below it."""

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("table/", view(self.table_view), name="ops_servicestatus_table"),
            path("controls/<slug:name>/confirm/", never_cache(self.confirm_view), name="ops_control_confirm"),
            path("controls/<slug:name>/", never_cache(self.control_view), name="ops_control"),
            *super().get_urls(),
        ]

    def _table_context(self, request: HttpRequest) -> dict[str, Any]:
        results = health_run()
        statuses = {s.name: s for s in ServiceStatus.objects.all()}
        rows = [{"result": r, "stored": statuses.get(r.name)} for r in results]
        return {
            "rows": rows,
            "overall": overall_status(results),
            "changes": status_changes_recent(limit=50),
            "is_superuser": request.user.is_superuser,
            "maintenance": maintenance_read(),
            "paused": periodic_pause_get(),
        }

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponseForbidden()
        context = {
            **self.admin_site.each_context(request),
            **self._table_context(request),
            "title": "Service status",
            "opts": self.model._meta,
            "refresh": REFRESH,
            "table_url": reverse("admin:ops_servicestatus_table"),
            "controls": CONTROLS,
        }
        return TemplateResponse(request, "admin/ops/status.html", context)

    def table_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponseForbidden()
        return TemplateResponse(request, "admin/ops/status_table.html", self._table_context(request))

    # -- controls: superusers only, confirmed, POST + CSRF, audited -------------------
    def _refuse(self, request: HttpRequest, name: str, *, audit: bool) -> HttpResponse | None:
        """403 for anyone but a superuser; a refused attempt to act is audited (a look is not)."""
        user = request.user
        if user.is_active and user.is_superuser:
            return None
        if audit and isinstance(user, User):
            control_deny(name=name, user=user, ip=_client_ip(request))
        return HttpResponseForbidden("Controls are for superusers.\n")

    def confirm_view(self, request: HttpRequest, name: str) -> HttpResponse:
        if (refusal := self._refuse(request, name, audit=False)) is not None:
            return refusal
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        control = CONTROLS.get(name)
        if control is None:
            return HttpResponse("No such control.\n", status=404, content_type="text/plain")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Confirm: {control.title}",
            "opts": self.model._meta,
            "control": control,
            "target": request.GET.get("target", ""),
            "action_url": reverse("admin:ops_control", args=[name]),
        }
        return TemplateResponse(request, "admin/ops/confirm.html", context)

    def control_view(self, request: HttpRequest, name: str) -> HttpResponse:
        if (refusal := self._refuse(request, name, audit=True)) is not None:
            return refusal
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        control = CONTROLS.get(name)
        if control is None:
            return HttpResponse("No such control.\n", status=404, content_type="text/plain")
        try:
            retry_after = max(1, min(int(request.POST.get("retry_after") or 300), 86400))
        except ValueError:
            retry_after = 300
        given = ControlInput(
            target=request.POST.get("target", "").strip(),
            message=request.POST.get("message", "").strip()[:500],
            retry_after=retry_after,
        )
        assert isinstance(request.user, User)  # noqa: S101 - _refuse let only superusers through
        ok, outcome = control_run(control=control, user=request.user, given=given, ip=_client_ip(request))
        (messages.success if ok else messages.error)(request, f"{control.title}: {outcome}")
        return redirect("admin:ops_servicestatus_changelist")


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "service", "status_from", "status_to", "detail")
    list_filter = ("service", "status_to")
    date_hierarchy = "at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "target", "result", "detail", "ip")
    list_filter = ("action", "result")
    search_fields = ("actor_label", "target", "detail")
    date_hierarchy = "at"

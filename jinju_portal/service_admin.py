"""Admin forms whose saving IS a service call, shared by every app's admin: a refusal comes back as
a form error (never a 500, never a half-done change), and the service records who did it."""
from django import forms
from django.contrib import admin
from django.db import transaction

from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error


class ServiceForm(forms.ModelForm):
    """A model form that, once its fields are valid, performs its write through a service, so a refusal
    (over the allocation, below the spent amount) comes back as a form error, never a 500. The admin's
    changeform view wraps it in its transaction; `self.instance` becomes the service's result."""

    user = None  # set by ServiceFormAdmin.get_form

    def run_service(self, data):
        raise NotImplementedError

    def changed(self, names) -> dict:
        """The edited fields among `names`, with their cleaned values (what an update service takes)."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name in names}

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            result = self.run_service(self.cleaned_data)
        except ServiceError as exc:
            add_service_error(self, exc)
            return
        if result is not None:
            self.instance = result


class ServiceFormAdmin(admin.ModelAdmin):
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The service writes while the form is validated; if anything else on the page (an inline's
        # management form) is then invalid, the admin re-renders instead of redirecting. Roll the
        # write back in that case so an error page never leaves a half-done change behind.
        with transaction.atomic():
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request.method == "POST" and response.status_code != 302:
                transaction.set_rollback(True)
            return response

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": getattr(request, "user", None)})

    def save_model(self, request, obj, form, change):
        pass  # the service already wrote it in ServiceForm._post_clean

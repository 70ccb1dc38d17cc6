"""Admin forms whose saving IS a service call, shared by every app's admin: a refusal comes back as
a form error (never a 500, never a half-done change), and the service records who did it."""
import datetime as dt

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
        """The edited fields among `names`, with their cleaned values."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name in names}

    def values(self, names) -> dict:
        """The fields among `names` that this save changes: those edited on the form, and those whose
        value differs from the row as it is in the database now. The second part matters for
        django-simple-history's "revert" form, whose initial values are the old version's: without
        it a revert would change nothing. Times are compared to the second, as the form shows them."""
        model = type(self.instance)
        current = model._default_manager.filter(pk=self.instance.pk).first() if self.instance.pk else None
        out = {}
        for name in names:
            if name not in self.cleaned_data:
                continue
            new = self.cleaned_data[name]
            if name in self.changed_data:
                out[name] = new
            elif current is not None and _to_the_second(getattr(current, name)) != _to_the_second(new):
                out[name] = new
        return out

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


def _to_the_second(value):
    return value.replace(microsecond=0) if isinstance(value, dt.datetime) else value

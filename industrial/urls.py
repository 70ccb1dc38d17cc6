"""Citizen pages of `industrial`."""
from django.urls import path

from industrial import views

app_name = "industrial"

urlpatterns = [
    path("", views.index, name="index"),
    path("support/", views.support_new, name="support_new"),
    path("support/done/", views.support_done, name="support_done"),
    path("support/lookup/", views.support_lookup, name="support_lookup"),
    path("events/", views.events, name="events"),
    path("events/<int:event_id>/", views.event_detail, name="event_detail"),
    path("events/registered/", views.registration_done, name="registration_done"),
    path("events/cancel/<str:token>/", views.registration_cancel, name="registration_cancel"),
    path("library/", views.library, name="library"),
    path("clubs/", views.clubs, name="clubs"),
]

"""Citizen pages of `industrial`."""
from django.urls import path

from industrial import views

app_name = "industrial"

urlpatterns = [
    path("", views.index, name="index"),
]

"""Citizen pages of `vouchers`."""
from django.urls import path

from vouchers import views

app_name = "vouchers"

urlpatterns = [
    path("", views.index, name="index"),
]

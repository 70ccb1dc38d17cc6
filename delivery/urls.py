"""Citizen pages of `delivery`."""
from django.urls import path

from delivery import views

app_name = "delivery"

urlpatterns = [
    path("", views.index, name="index"),
    path("stores/", views.stores, name="stores"),
    path("apply/", views.apply, name="apply"),
    path("my/", views.my, name="my"),
    # statements
    path("savings/", views.savings, name="savings"),
    path("my/statements/", views.my_statements, name="my-statements"),
]

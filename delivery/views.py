"""Citizen pages for the public delivery app."""
from django.shortcuts import render


def index(request):
    return render(request, "delivery/index.html")

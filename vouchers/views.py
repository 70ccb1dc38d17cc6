"""Citizen pages for Jinju Love gift certificates."""
from django.shortcuts import render


def index(request):
    return render(request, "vouchers/index.html")

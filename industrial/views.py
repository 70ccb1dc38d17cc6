"""Public pages of the Sangpyeong innovation-support and culture centre."""
from django.shortcuts import render


def index(request):
    return render(request, "industrial/index.html")

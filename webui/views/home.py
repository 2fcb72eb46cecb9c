from django.shortcuts import redirect
from django.urls import reverse


def home(request):
    """Logged-in people start at the upload page; the others at the admin's login, which brings them there."""
    if request.user.is_authenticated:
        return redirect("webui:upload")
    return redirect(f"{reverse('admin:login')}?next={reverse('webui:upload')}")

"""POST /api/v1/auth/token/: a user's API token for their username and password, with the login lockout
(etlsite.login_throttle): while the username or the caller's address is locked out, a 429 with Retry-After
and the translated "try again in M minutes", whatever the password; a success clears the username's failures."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled

from etlsite.login_throttle import lockout_message, login_lockout_seconds, login_success_record


class LockedOut(Throttled):
    default_code = "locked_out"


class TokenView(ObtainAuthToken):
    @extend_schema(responses={200: {"type": "object", "required": ["token"],
                                    "properties": {"token": {"type": "string"}}},
                              429: OpenApiResponse(description="Too many failed logins for this username or from "
                                                               "this address; Retry-After gives the seconds to wait.")},
                   summary="Obtain the API token of a username and password")
    def post(self, request, *args, **kwargs):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        seconds = login_lockout_seconds(username=username if isinstance(username, str) else None, request=request)
        if seconds:
            locked = LockedOut(detail=lockout_message(seconds))  # the message names the wait already
            locked.wait = seconds  # -> Retry-After
            raise locked
        response = super().post(request, *args, **kwargs)  # a wrong password is counted by the signal receiver
        login_success_record(username=username)
        return response


obtain_auth_token = TokenView.as_view()

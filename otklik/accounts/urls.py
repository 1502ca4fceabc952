from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from otklik.accounts import views
from otklik.accounts.forms import LoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The users page of the head of the service (reference data).
    path("settings/users/", views.user_list, name="settings-users"),
    path("settings/users/new/", views.user_create, name="settings-user-create"),
    path("settings/users/<int:pk>/", views.user_edit, name="settings-user-edit"),
    path("settings/users/<int:pk>/password/", views.user_new_password, name="settings-user-password"),
]

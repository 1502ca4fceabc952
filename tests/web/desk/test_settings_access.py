"""Reference data pages are for the head of the service and administrators only."""

from __future__ import annotations

import pytest

from otklik.org.models import RoutingRule, TopicGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(housing, executor):
    group = TopicGroup.objects.create(name="ЖКХ")
    rule = RoutingRule.objects.create(name="ЖКХ → департамент", group=group, lead=housing)
    return [
        "/settings/",
        "/settings/rules/",
        "/settings/rules/new/",
        f"/settings/rules/{rule.pk}/",
        "/settings/departments/",
        "/settings/departments/new/",
        f"/settings/departments/{housing.pk}/",
        "/settings/users/",
        "/settings/users/new/",
        f"/settings/users/{executor.pk}/",
    ]


def test_the_head_and_an_administrator_open_every_page(login, pages, head, admin_user):
    for user in (head, admin_user):
        client = login(user)
        for url in pages:
            assert client.get(url).status_code == 200, (user.username, url)


@pytest.mark.parametrize("persona", ["operator", "executor", "dept_head", "director"])
def test_other_roles_are_refused(request, login, pages, persona):
    client = login(request.getfixturevalue(persona))
    for url in pages:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x"}).status_code == 403, url


def test_an_anonymous_visitor_is_sent_to_log_in(client, pages):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_the_index_links_the_pages_and_django_admin_for_administrators(login, head, admin_user):
    content = login(head).get("/settings/").content.decode()
    for url in ("/settings/rules/", "/settings/departments/", "/settings/users/"):
        assert f'href="{url}"' in content
    assert 'href="/admin/"' not in content  # the head is not staff
    assert 'href="/admin/"' in login(admin_user).get("/settings/").content.decode()

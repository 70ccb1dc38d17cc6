import pytest


@pytest.mark.django_db
def test_home_page_renders_korean_navigation(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    for label in ("상품권", "배달앱", "상평산단"):
        assert label in body

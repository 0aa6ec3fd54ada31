"""A photo end to end through real processes: the ASGI server takes the upload, a
Celery worker makes the thumbnails after commit, the owner fetches them.

Filesystem storage (the embedded default): server, worker and test share the
run's var/ directory. S3 has the same flow in-process against moto
(apps/feeders/tests/test_photos_s3.py).
"""

from __future__ import annotations

import requests

from apps.accounts.models import User
from apps.feeders.tests import images
from apps.feeders.tests.factories import PetFactory
from catfeeder.testing import AsgiServer, CeleryWorker, wait_until
from tests.test_schemathesis import login


def test_a_worker_makes_the_thumbnails_after_the_upload_commits(
    asgi_server: AsgiServer, celery_worker: CeleryWorker, alice: User, bob: User
) -> None:
    pet = PetFactory(owner=alice)
    owner = requests.Session()
    owner.headers["X-Session-Token"] = login(asgi_server, alice)
    files = {"file": ("tom.jpg", images.jpeg(1024, 768), "image/jpeg")}
    created = owner.post(f"{asgi_server.url}/api/pets/{pet.pk}/photos", files=files, timeout=30)
    assert created.status_code == 201, created.text
    photo_url = f"{asgi_server.url}/api/photos/{created.json()['id']}"

    def ready() -> bool:
        return bool(owner.get(photo_url, timeout=10).json()["status"] == "ready")

    wait_until(ready, timeout=60, what="thumbnails", interval=0.2)
    body = owner.get(photo_url, timeout=10).json()
    for thumb, expected in zip(body["thumbnails"], [(96, 72), (512, 384)], strict=True):
        file = owner.get(f"{asgi_server.url}{thumb['url']}", timeout=10)
        assert file.headers["Content-Type"] == "image/webp"
        assert images.decode(file.content).size == expected

    intruder = requests.Session()
    intruder.headers["X-Session-Token"] = login(asgi_server, bob)
    assert intruder.get(f"{asgi_server.url}{body['url']}", timeout=10).status_code == 404

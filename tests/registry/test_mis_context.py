"""An MIS client sees the legal entities it registered (the real IL context), and no others."""

from collections.abc import Callable
from typing import Any

import httpx
from registry_factories import created, legal_entity_body


def test_mis_sees_what_it_created(
    server: str,
    api: httpx.Client,
    make_legal_entity: Callable[..., dict[str, Any]],
    headers_for: Callable[..., dict[str, str]],
) -> None:
    mis_a, mis_b = make_legal_entity("MIS"), make_legal_entity("MIS")
    with (
        httpx.Client(base_url=server, headers=headers_for(mis_a["id"], client_type="MIS")) as a,
        httpx.Client(base_url=server, headers=headers_for(mis_b["id"], client_type="MIS")) as b,
    ):
        clinic = created(a.post("/admin/legal_entities", json=legal_entity_body("PRIMARY_CARE")))
        assert api.get(f"/api/legal_entities/{clinic['id']}").json()["data"]["created_by_mis_client_id"] == mis_a["id"]

        listed = {le["id"] for le in a.get("/api/legal_entities", params={"page_size": 100}).json()["data"]}
        assert listed == {mis_a["id"], clinic["id"]}
        assert a.get(f"/api/v2/legal_entities/{clinic['id']}").status_code == 200

        # Another MIS sees neither the clinic nor the first MIS.
        assert {le["id"] for le in b.get("/api/legal_entities").json()["data"]} == {mis_b["id"]}
        assert b.get(f"/api/legal_entities/{clinic['id']}").status_code == 404
        assert b.get(f"/api/v2/legal_entities/{clinic['id']}").status_code == 404

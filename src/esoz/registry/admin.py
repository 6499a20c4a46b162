"""Admin writes for the payer (НСЗУ) and for seeding: /admin/..."""

from fastapi import APIRouter

router = APIRouter(prefix="/admin", tags=["registry admin"])

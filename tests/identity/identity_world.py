"""What the identity tests build on: a clinic with a connected MIS, and users."""

import random
import uuid
from dataclasses import dataclass

REDIRECT = "https://mis.example.ua/callback"
STRONG = "Гарбуз-Квітка-Сонях-83"


@dataclass(frozen=True)
class World:
    clinic_id: uuid.UUID
    mis_id: uuid.UUID
    secret: str
    redirect_uri: str = REDIRECT

    @property
    def client_id(self) -> str:
        return str(self.clinic_id)


@dataclass
class User:
    id: uuid.UUID
    email: str
    password: str
    phone: str
    party_id: uuid.UUID


def new_phone() -> str:
    return "+38050" + "".join(random.choice("0123456789") for _ in range(7))

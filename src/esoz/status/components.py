"""The components shown on the status page, their states and the Ukrainian words for them."""

from typing import Final

# Order is the order on the page.
COMPONENTS: Final[dict[str, str]] = {
    "api": "API для МІС",
    "signin": "Вхід користувачів",
    "signatures": "КЕП: ЦСК та OCSP",
    "sms": "SMS-повідомлення",
    "email": "Електронна пошта",
    "pfu": "Обмін з Пенсійним фондом",
    "database": "База даних",
}
DESCRIPTIONS: Final[dict[str, str]] = {
    "api": "Запити медичних інформаційних систем",
    "signin": "Сторінки входу, OAuth і другий фактор",
    "signatures": "Доступність центрів сертифікації ключів і OCSP",
    "sms": "Коди рецептів, направлень і входу",
    "email": "Листи користувачам і підписникам",
    "pfu": "Передавання висновків про непрацездатність",
    "database": "Центральна база даних",
}

OPERATIONAL, DEGRADED, OUTAGE, MAINTENANCE, UNKNOWN = "operational", "degraded", "outage", "maintenance", "unknown"
STATES: Final[dict[str, str]] = {
    OPERATIONAL: "Працює",
    DEGRADED: "Уповільнення",
    OUTAGE: "Збій",
    MAINTENANCE: "Планові роботи",
    UNKNOWN: "Немає даних",
}
# Worse states win when signals disagree.
SEVERITY: Final[dict[str, int]] = {UNKNOWN: 0, OPERATIONAL: 1, MAINTENANCE: 2, DEGRADED: 3, OUTAGE: 4}

INCIDENT_STATUSES: Final[dict[str, str]] = {
    "investigating": "Розслідуємо",
    "identified": "Причину встановлено",
    "monitoring": "Спостерігаємо",
    "resolved": "Вирішено",
}
IMPACTS: Final[dict[str, str]] = {
    "none": "Без впливу",
    "minor": "Незначний вплив",
    "major": "Значний вплив",
    "critical": "Критичний вплив",
}
IMPACT_STATE: Final[dict[str, str]] = {"none": OPERATIONAL, "minor": DEGRADED, "major": OUTAGE, "critical": OUTAGE}

# Delivery channels whose maintenance windows (notifications domain) are components here.
CHANNEL_COMPONENTS: Final[dict[str, str]] = {"sms": "sms", "email": "email", "pfu": "pfu"}


def worst(*states: str) -> str:
    return max(states, key=lambda s: SEVERITY[s])

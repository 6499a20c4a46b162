"""The dev view of delivered messages as a page (what a browser gets from /admin/dev/messages)."""

from html import escape
from typing import Any

_STYLE = (
    "body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#1b1b1b}table{border-collapse:collapse;width:100%}"
    "th,td{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}td.t{white-space:pre-wrap}small{color:#666}"
)


def render(messages: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(m['delivered_at'])[:19])}</td><td>{escape(m['channel'])}</td>"
        f"<td>{escape(m['to'])}</td><td>{escape(m['kind'])}</td>"
        f"<td class=t>{escape(m['subject'] + chr(10) if m['subject'] else '')}{escape(m['text'] or '')}</td>"
        "</tr>"
        for m in messages
    )
    empty = "" if messages else "<p>Повідомлень ще немає.</p>"
    return (
        '<!doctype html><html lang="uk"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">'
        f"<title>Надіслані повідомлення (dev)</title><style>{_STYLE}</style></head><body>"
        "<h1>Надіслані повідомлення</h1><p><small>SMS та e-mail, доставлені провайдером <code>log</code> "
        "(режим розробки). Сторінка оновлюється кожні 3 секунди; фільтр: <code>?phone=</code> або "
        "<code>?email=</code>.</small></p>"
        "<table><thead><tr><th>Час (UTC)</th><th>Канал</th><th>Кому</th><th>Шаблон</th><th>Текст</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{empty}</body></html>"
    )

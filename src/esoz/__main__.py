from esoz.cli import app

app()

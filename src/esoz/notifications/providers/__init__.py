"""Delivery providers behind one interface (`esoz.core.outbox.Handler`): log, http (SMS), smtp (e-mail)."""

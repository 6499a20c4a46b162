"""Medical records: episodes of care and the encounter package (encounters, conditions, observations,
immunizations, allergy intolerances, diagnostic reports, procedures)."""

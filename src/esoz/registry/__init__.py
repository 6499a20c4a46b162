"""Registry: legal entities, divisions, parties and employees, persons (MPI), declarations, dictionaries."""

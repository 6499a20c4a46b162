"""Object identifiers of the Ukrainian qualified-certificate profile (ДСТУ / ЦЗО)."""

# subjectDirectoryAttributes (2.5.29.9) entries that carry the holder's identity; QTSPs agree on these,
# while subject serialNumber / organizationIdentifier formats vary, so these are preferred.
DRFO = "1.2.804.2.1.1.1.11.1.4.1.1"  # РНОКПП (tax id) or passport series+number
EDRPOU = "1.2.804.2.1.1.1.11.1.4.2.1"  # organisation code
UNZR = "1.2.804.2.1.1.1.11.1.4.11.1"  # record number in the demographic register

SUBJECT_DIRECTORY_ATTRIBUTES = "2.5.29.9"

# DSTU 4145 signature with GOST 34.311 (most Ukrainian KEPs); handled by an optional backend only.
DSTU4145_GOST34311_PB = "1.2.804.2.1.1.1.1.3.1.1"

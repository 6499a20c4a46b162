"""КЕП: verify CAdES signed documents, prove the signer is the doctor, keep the CMS; dev PKI."""

"""Medical conclusions (compositions, contract §5) and the Pension Fund (ПФУ) e-sick-leave connector."""

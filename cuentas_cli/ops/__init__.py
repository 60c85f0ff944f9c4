"""Operations: doctor, the demo company, database maintenance and the ledger check."""

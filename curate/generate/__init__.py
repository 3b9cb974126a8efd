"""`curate generate`: grow an instruction set from seed tasks (Self-Instruct / Alpaca) on a local model."""
